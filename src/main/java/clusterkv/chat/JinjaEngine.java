package clusterkv.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.ext.NamedParameter;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.JinjavaInterpreterFactory;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.expression.ExpressionStrategy;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.output.RenderedOutputNode;
import com.hubspot.jinjava.tree.parse.ExpressionToken;
import java.lang.reflect.Method;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import jinjava.javax.el.CompositeELResolver;

/**
 * A jinjava set up to behave like the Jinja2 environment HF transformers renders chat templates
 * with: Python string methods, HF's {@code raise_exception}, {@code strftime_now} and
 * {@code tojson}, Jinja-like map iteration and printing, no re-interpretation of rendered values.
 * Whitespace handling is done by {@link JinjaSource} before jinjava sees the template.
 */
final class JinjaEngine {

    private JinjaEngine() {}

    /** The message passed to {@code raise_exception} during the current render on this thread. */
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();
    private static final ThreadLocal<Clock> CLOCK = new ThreadLocal<>();

    private static final ExpressionStrategy PY_EXPRESSIONS = new PyExpressionStrategy();
    private static final Jinjava JINJAVA = create();

    /** The result of rendering; exactly one of {@code output} and {@code error} is non-null. */
    record Outcome(String output, String error, boolean raised) {
        boolean ok() {
            return error == null;
        }
    }

    /** Forces the (slow, about a second) creation of the jinjava instance. */
    static void init() {
        Objects.requireNonNull(JINJAVA);
    }

    private static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PyMethodsResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(false)   // emulated by JinjaSource
                .withLstripBlocks(false) // emulated by JinjaSource
                .withElResolver(resolver)
                .withNestedInterpretationEnabled(false) // never re-render "{{" found in message text
                .withFailOnUnknownTokens(false)
                .withEnableRecursiveMacroCalls(true) // e.g. Hermes' json_to_python_type
                .withMaxMacroRecursionDepth(50)
                .withLocale(Locale.ENGLISH)
                .withInterperterFactory(new JinjavaInterpreterFactory() {
                    @Override
                    public JinjavaInterpreter newInstance(Jinjava application, Context context,
                            JinjavaConfig renderConfig) {
                        context.setExpressionStrategy(PY_EXPRESSIONS);
                        return super.newInstance(application, context, renderConfig);
                    }
                })
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withIterateOverMapKeys(true)
                        .withEvaluateMapKeys(true)
                        .withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true)
                        .withParseWhitespaceControlStrictly(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerTag(new PyForTag());
        jinjava.getGlobalContext().registerFilter(new PyFilters.ToJson());
        jinjava.getGlobalContext().registerFilter(new PyFilters.Slice());
        jinjava.getGlobalContext().registerFilter(new PyFilters.Items());
        jinjava.getGlobalContext().registerFilter(new PyFilters.Trim());
        jinjava.getGlobalContext().registerFilter(new PyFilters.PyString());
        jinjava.getGlobalContext().registerFunction(function("raise_exception", "raiseException"));
        jinjava.getGlobalContext().registerFunction(function("strftime_now", "strftimeNow"));
        try {
            Method dict = JinjaEngine.class.getDeclaredMethod("dict", Object[].class);
            dict.setAccessible(true);
            jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "dict", dict));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
        return jinjava;
    }

    private static ELFunctionDefinition function(String name, String method) {
        try {
            Method m = JinjaEngine.class.getDeclaredMethod(method, String.class);
            m.setAccessible(true);
            return new ELFunctionDefinition("", name, m);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Prints {@code {{ expr }}} like Jinja: booleans as True/False; no re-interpretation, no escaping. */
    private static final class PyExpressionStrategy implements ExpressionStrategy {
        private static final long serialVersionUID = 1L;

        @Override
        public RenderedOutputNode interpretOutput(ExpressionToken master, JinjavaInterpreter interpreter) {
            Object value = interpreter.resolveELExpression(master.getExpr(), master.getLineNumber());
            String text = value instanceof Boolean b ? (b ? "True" : "False") : interpreter.getAsString(value);
            return new RenderedOutputNode(text);
        }
    }

    /** HF's {@code raise_exception(message)}: aborts the render with the template's message. */
    static String raiseException(String message) {
        if (RAISED.get() == null) { // jinjava renders on after an error; keep the first message
            RAISED.set(message == null ? "None" : message);
        }
        throw new IllegalStateException("raise_exception: " + message);
    }

    /** Jinja's {@code dict(mapping, key=value, ...)}. */
    static Map<String, Object> dict(Object... args) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Object a : args) {
            if (a instanceof NamedParameter p) {
                out.put(p.getName(), p.getValue());
            } else if (a instanceof Map<?, ?> m) {
                m.forEach((k, v) -> out.put(String.valueOf(k), v));
            } else if (a != null) {
                throw new IllegalArgumentException("dict() takes a mapping and keyword arguments");
            }
        }
        return out;
    }

    /** HF's {@code strftime_now(format)}: the current local time formatted with Python's strftime. */
    static String strftimeNow(String format) {
        Clock clock = CLOCK.get();
        return strftime(ZonedDateTime.now(clock == null ? Clock.systemDefaultZone() : clock), format);
    }

    /**
     * Renders an already {@link JinjaSource#toJinjava converted} template. Any fatal jinjava error
     * (syntax error, unknown tag or filter, failed method call, {@code raise_exception}) is a failure:
     * Jinja would have thrown, whereas jinjava records the error and renders on.
     */
    static Outcome render(String jinjavaTemplate, Map<String, Object> context, Clock clock) {
        RAISED.remove();
        CLOCK.set(clock);
        try {
            RenderResult result = JINJAVA.renderForResult(jinjavaTemplate, context);
            String raised = RAISED.get();
            if (raised != null) {
                return new Outcome(null, "template raised an exception: " + raised, true);
            }
            for (TemplateError e : result.getErrors()) {
                if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                    return new Outcome(null, describe(e), false);
                }
            }
            return new Outcome(result.getOutput(), null, false);
        } catch (RuntimeException e) {
            String raised = RAISED.get();
            if (raised != null) {
                return new Outcome(null, "template raised an exception: " + raised, true);
            }
            return new Outcome(null, "jinjava failed: " + e, false);
        } finally {
            RAISED.remove();
            CLOCK.remove();
        }
    }

    private static String describe(TemplateError e) {
        StringBuilder sb = new StringBuilder();
        sb.append(e.getMessage());
        if (e.getFieldName() != null && !e.getFieldName().isBlank()) {
            sb.append(" (in '").append(e.getFieldName().strip()).append("')");
        }
        if (e.getLineno() > 0) {
            sb.append(" at line ").append(e.getLineno());
        }
        return sb.toString();
    }

    /** Python's time.strftime for the common directives (C locale). */
    static String strftime(ZonedDateTime t, String format) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            boolean noPad = false;
            if (d == '-' && i + 1 < format.length()) { // glibc extension: %-d, %-m, ...
                noPad = true;
                d = format.charAt(++i);
            }
            switch (d) {
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'b', 'h' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'd' -> sb.append(pad(t.getDayOfMonth(), 2, noPad));
                case 'e' -> sb.append(noPad ? String.valueOf(t.getDayOfMonth())
                        : String.format("%2d", t.getDayOfMonth()));
                case 'm' -> sb.append(pad(t.getMonthValue(), 2, noPad));
                case 'y' -> sb.append(pad(t.getYear() % 100, 2, noPad));
                case 'Y' -> sb.append(t.getYear());
                case 'H' -> sb.append(pad(t.getHour(), 2, noPad));
                case 'I' -> sb.append(pad(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, noPad));
                case 'M' -> sb.append(pad(t.getMinute(), 2, noPad));
                case 'S' -> sb.append(pad(t.getSecond(), 2, noPad));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> sb.append(pad(t.getDayOfYear(), 3, noPad));
                case 'f' -> sb.append(pad(t.getNano() / 1000, 6, false));
                case 'w' -> sb.append(t.getDayOfWeek().getValue() % 7);
                case 'u' -> sb.append(t.getDayOfWeek().getValue());
                case 'Z' -> sb.append(t.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'z' -> sb.append(t.getOffset().getId().equals("Z") ? "+0000"
                        : t.getOffset().getId().replace(":", ""));
                case 'F' -> sb.append(strftime(t, "%Y-%m-%d"));
                case 'T' -> sb.append(strftime(t, "%H:%M:%S"));
                case 'D' -> sb.append(strftime(t, "%m/%d/%y"));
                case 'c' -> sb.append(strftime(t, "%a %b %e %H:%M:%S %Y"));
                case 'x' -> sb.append(strftime(t, "%m/%d/%y"));
                case 'X' -> sb.append(strftime(t, "%H:%M:%S"));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(noPad ? "-" : "").append(d);
            }
        }
        return sb.toString();
    }

    private static String pad(int v, int width, boolean noPad) {
        String s = String.valueOf(v);
        return noPad || s.length() >= width ? s : "0".repeat(width - s.length()) + s;
    }
}
