package clusterkv.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Filters with Python semantics that jinjava lacks or implements differently. */
final class PyFilters {

    private PyFilters() {}

    /**
     * {@code tojson} as HF transformers defines it: Python's
     * {@code json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)}
     * ({@code ", "} and {@code ": "} separators; jinjava's built-in one is compact).
     */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, (Object[]) args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args,
                Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent")
                    : args != null && args.length > 0 ? args[0] : null;
            boolean ensureAscii = truthy(kwargs.get("ensure_ascii"));
            boolean sortKeys = truthy(kwargs.get("sort_keys"));
            String indentStr = null;
            if (indent instanceof Number n) {
                indentStr = " ".repeat(Math.max(0, n.intValue()));
            } else if (indent instanceof String s && !s.isEmpty()) {
                indentStr = s.chars().allMatch(Character::isDigit) ? " ".repeat(Integer.parseInt(s)) : s;
            }
            String itemSep = indentStr == null ? ", " : ",";
            String keySep = ": ";
            Object seps = kwargs.get("separators");
            List<Object> sepList = seps == null ? null : asList(seps);
            if (sepList != null && sepList.size() == 2) {
                itemSep = String.valueOf(sepList.get(0));
                keySep = String.valueOf(sepList.get(1));
            }
            StringBuilder sb = new StringBuilder();
            new Json(indentStr, itemSep, keySep, ensureAscii, sortKeys).write(var, 0, sb);
            return sb.toString();
        }
    }

    private static boolean truthy(Object o) {
        return o instanceof Boolean b ? b : o != null && Boolean.parseBoolean(o.toString());
    }

    private record Json(String indent, String itemSep, String keySep, boolean ensureAscii, boolean sortKeys) {

        void write(Object v, int level, StringBuilder sb) {
            if (v == null) {
                sb.append("null");
            } else if (v instanceof Boolean b) {
                sb.append(b ? "true" : "false");
            } else if (v instanceof Byte || v instanceof Short || v instanceof Integer || v instanceof Long
                    || v instanceof BigInteger) {
                sb.append(v);
            } else if (v instanceof BigDecimal d) {
                sb.append(d.toPlainString());
            } else if (v instanceof Number n) {
                double d = n.doubleValue();
                if (Double.isNaN(d)) {
                    sb.append("NaN");
                } else if (Double.isInfinite(d)) {
                    sb.append(d > 0 ? "Infinity" : "-Infinity");
                } else if (d == Math.rint(d) && Math.abs(d) < 1e16) {
                    sb.append((long) d).append(".0");
                } else {
                    sb.append(Double.toString(d).replace('E', 'e'));
                }
            } else if (v instanceof Map<?, ?> map) {
                Map<?, ?> m = sortKeys ? new TreeMap<>(stringKeys(map)) : map;
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) {
                        sb.append(itemSep);
                    }
                    first = false;
                    newline(level + 1, sb);
                    string(keyString(e.getKey()), sb);
                    sb.append(keySep);
                    write(e.getValue(), level + 1, sb);
                }
                newline(level, sb);
                sb.append('}');
            } else if (v instanceof Collection<?> || v.getClass().isArray()) {
                List<Object> list = asList(v);
                if (list.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) {
                        sb.append(itemSep);
                    }
                    newline(level + 1, sb);
                    write(list.get(i), level + 1, sb);
                }
                newline(level, sb);
                sb.append(']');
            } else {
                string(v.toString(), sb);
            }
        }

        private void newline(int level, StringBuilder sb) {
            if (indent != null) {
                sb.append('\n').append(indent.repeat(level));
            }
        }

        private static Map<String, Object> stringKeys(Map<?, ?> map) {
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            map.forEach((k, val) -> out.put(keyString(k), val));
            return out;
        }

        private static String keyString(Object k) {
            if (k == null) {
                return "null";
            }
            if (k instanceof Boolean b) {
                return b ? "true" : "false";
            }
            return k.toString();
        }

        private void string(String s, StringBuilder sb) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            sb.append('"');
        }
    }

    @SuppressWarnings("unchecked")
    static List<Object> asList(Object v) {
        if (v instanceof List<?> l) {
            return (List<Object>) l;
        }
        if (v instanceof Collection<?> c) {
            return new ArrayList<>(c);
        }
        if (v != null && v.getClass().isArray()) {
            int n = Array.getLength(v);
            List<Object> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(Array.get(v, i));
            }
            return out;
        }
        return null;
    }

    /** {@code mapping|items}: the (key, value) pairs, as {@code mapping.items()}. */
    static final class Items implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return List.of();
            }
            if (var instanceof Map<?, ?> map) {
                return new ArrayList<>(map.entrySet());
            }
            throw new IllegalArgumentException("items filter needs a mapping, got " + var.getClass().getSimpleName());
        }
    }

    /**
     * {@code x|trim(chars=None)} as in Jinja: strips Unicode whitespace (or the given characters), and
     * an undefined value gives "" (jinjava's prints "null").
     */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return "";
            }
            String s = var instanceof String str ? str : interpreter.getAsString(var);
            String chars = args != null && args.length > 0 ? args[0] : null;
            return PyMethodsResolver.strip(s, chars, true, true);
        }
    }

    /** {@code x|string} with Python's spelling of booleans. */
    static final class PyString implements Filter {
        @Override
        public String getName() {
            return "string";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var instanceof Boolean b) {
                return b ? "True" : "False";
            }
            return var instanceof String s ? s : interpreter.getAsString(var);
        }
    }

    /** {@code x|py_slice(start, stop, step)}: Python's {@code x[start:stop:step]} for lists and strings. */
    static final class Slice implements Filter {
        @Override
        public String getName() {
            return "py_slice";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, (Object[]) args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args,
                Map<String, Object> kwargs) {
            if (var == null) {
                return null;
            }
            Long start = arg(args, 0);
            Long stop = arg(args, 1);
            Long step = arg(args, 2);
            if (var instanceof String s) {
                StringBuilder sb = new StringBuilder();
                for (int i : indices(s.length(), start, stop, step)) {
                    sb.append(s.charAt(i));
                }
                return sb.toString();
            }
            List<Object> list = asList(var);
            if (list == null) {
                throw new IllegalArgumentException("cannot slice " + var.getClass().getSimpleName());
            }
            List<Object> out = new ArrayList<>();
            for (int i : indices(list.size(), start, stop, step)) {
                out.add(list.get(i));
            }
            return out;
        }

        private static Long arg(Object[] args, int i) {
            if (args == null || i >= args.length || args[i] == null) {
                return null;
            }
            Object a = args[i];
            if (a instanceof Number n) {
                return n.longValue();
            }
            String s = a.toString().trim();
            return s.isEmpty() || s.equals("none") || s.equals("None") ? null : Long.parseLong(s);
        }

        /** CPython's slice.indices + range. */
        static int[] indices(int len, Long startArg, Long stopArg, Long stepArg) {
            long step = stepArg == null ? 1 : stepArg;
            if (step == 0) {
                throw new IllegalArgumentException("slice step cannot be zero");
            }
            long lower = step < 0 ? -1 : 0;
            long upper = step < 0 ? len - 1 : len;
            long start = startArg == null ? (step < 0 ? upper : lower) : clamp(startArg, len, lower, upper);
            long stop = stopArg == null ? (step < 0 ? lower : upper) : clamp(stopArg, len, lower, upper);
            List<Integer> idx = new ArrayList<>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
                idx.add((int) i);
            }
            return idx.stream().mapToInt(Integer::intValue).toArray();
        }

        private static long clamp(long v, int len, long lower, long upper) {
            if (v < 0) {
                v += len;
                return Math.max(v, lower);
            }
            return Math.min(v, upper);
        }
    }
}
