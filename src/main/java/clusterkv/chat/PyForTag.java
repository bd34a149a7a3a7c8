package clusterkv.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.NullValue;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.parse.TagToken;
import com.hubspot.jinjava.util.ForLoop;
import com.hubspot.jinjava.util.ObjectIterator;
import com.hubspot.jinjava.util.ObjectTruthValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.lang3.tuple.Pair;

/**
 * jinjava's {@code for} tag plus Jinja's loop filter, {@code {% for x in items if cond %}}: jinjava
 * reads {@code items if cond} as an incomplete conditional expression and silently loops over nothing.
 * As in Jinja, the items are filtered before the loop starts, so {@code loop.index}, {@code loop.last}
 * and {@code loop.length} count only the items that pass. The loop object also has Jinja's
 * {@code loop.previtem} and {@code loop.nextitem}, which jinjava lacks.
 */
final class PyForTag extends ForTag {

    private static final long serialVersionUID = 1L;

    @Override
    public String interpretUnchecked(TagNode tagNode, JinjavaInterpreter interpreter) {
        Pair<List<String>, String> varsAndExpr = getLoopVarsAndExpression((TagToken) tagNode.getMaster());
        List<String> loopVars = varsAndExpr.getLeft();
        String expr = varsAndExpr.getRight();
        int split = topLevelIf(expr);
        String iterable = split < 0 ? expr : expr.substring(0, split).strip();
        Object collection = interpreter.resolveELExpression(iterable, tagNode.getLineNumber());
        List<Object> items = new ArrayList<>();
        ForLoop it = ObjectIterator.getLoop(collection);
        while (it.hasNext()) {
            items.add(interpreter.wrap(it.next()));
        }
        if (split >= 0) {
            String condition = expr.substring(split + 2).strip();
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                try (JinjavaInterpreter.InterpreterScopeClosable scope = interpreter.enterScope()) {
                    bind(interpreter, loopVars, item);
                    Object test = interpreter.resolveELExpression(condition, tagNode.getLineNumber());
                    if (ObjectTruthValue.evaluate(test)) {
                        kept.add(item);
                    }
                }
            }
            items = kept;
        }
        return renderForCollection(tagNode, interpreter, loopVars, items);
    }

    /** Renders the body once per item, with a {@code loop} that also has previtem and nextitem. */
    @Override
    public String renderForCollection(TagNode tagNode, JinjavaInterpreter interpreter, List<String> loopVars,
            Object collection) {
        List<Object> items;
        if (collection instanceof List<?> list) {
            items = new ArrayList<>(list);
        } else {
            items = new ArrayList<>();
            ForLoop it = ObjectIterator.getLoop(collection);
            while (it.hasNext()) {
                items.add(interpreter.wrap(it.next()));
            }
        }
        PyLoop loop = new PyLoop(items);
        StringBuilder out = new StringBuilder();
        interpreter.getContext().addNonMetaContextVariables(loopVars);
        try (JinjavaInterpreter.InterpreterScopeClosable scope = interpreter.enterScope()) {
            interpreter.getContext().put(LOOP, loop);
            while (loop.hasNext()) {
                bind(interpreter, loopVars, interpreter.wrap(loop.next()));
                for (Node node : tagNode.getChildren()) {
                    out.append(node.render(interpreter).getValue());
                }
            }
        } finally {
            interpreter.getContext().removeNonMetaContextVariables(loopVars);
        }
        return out.toString();
    }

    /** jinjava's loop object plus Jinja's {@code loop.previtem} and {@code loop.nextitem}. */
    public static final class PyLoop extends ForLoop {
        private final List<Object> items;

        PyLoop(List<Object> items) {
            super(items.iterator(), items.size());
            this.items = items;
        }

        public Object getPrevitem() {
            int i = getIndex0();
            return i > 0 && i - 1 < items.size() ? items.get(i - 1) : null;
        }

        public Object getNextitem() {
            int i = getIndex0();
            return i >= 0 && i + 1 < items.size() ? items.get(i + 1) : null;
        }
    }

    private static void bind(JinjavaInterpreter interpreter, List<String> vars, Object item) {
        if (vars.size() == 1) {
            interpreter.getContext().put(vars.get(0), item == null ? NullValue.INSTANCE : item);
            return;
        }
        List<Object> parts = null;
        if (item instanceof Map.Entry<?, ?> e) {
            parts = new ArrayList<>();
            parts.add(e.getKey());
            parts.add(e.getValue());
        } else if (item instanceof List<?> list) {
            parts = new ArrayList<>(list);
        }
        for (int i = 0; i < vars.size(); i++) {
            Object v = parts != null && i < parts.size() ? parts.get(i) : null;
            interpreter.getContext().put(vars.get(i), v == null ? NullValue.INSTANCE : interpreter.wrap(v));
        }
    }

    /** Index of the first {@code if} keyword outside brackets and string literals, or -1. */
    static int topLevelIf(String expr) {
        int depth = 0;
        for (int i = 0; i < expr.length(); i++) {
            char c = expr.charAt(i);
            if (c == '\'' || c == '"') {
                for (i++; i < expr.length() && expr.charAt(i) != c; i++) {
                    if (expr.charAt(i) == '\\') {
                        i++;
                    }
                }
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (depth == 0 && c == 'i' && expr.startsWith("if", i)
                    && (i == 0 || !isIdent(expr.charAt(i - 1)))
                    && (i + 2 == expr.length() || !isIdent(expr.charAt(i + 2)))) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isIdent(char c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }
}
