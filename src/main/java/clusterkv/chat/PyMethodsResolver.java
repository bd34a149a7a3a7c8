package clusterkv.chat;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Gives strings the Python {@code str} methods chat templates call ({@code strip}, {@code split},
 * {@code startswith}, ...) and Python indexing ({@code s[0]}, {@code s[-1]}), and dicts
 * {@code get(key, default)}. Placed in front of jinjava's own resolvers, so for strings it wins over
 * Java methods of the same name ({@code String.split} takes a regex, Python's does not).
 */
final class PyMethodsResolver extends ELResolver {

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        // jinjava passes subscripts as strings ("0"), plain EL as numbers
        Long index = property instanceof Number num && !(property instanceof Double || property instanceof Float)
                ? Long.valueOf(num.longValue())
                : property instanceof String p && p.matches("-?\\d{1,9}") ? Long.valueOf(p) : null;
        if (base instanceof String s && index != null) {
            int len = s.length();
            long idx = index;
            if (idx < 0) {
                idx += len;
            }
            context.setPropertyResolved(true);
            if (idx < 0 || idx >= len) {
                return null;
            }
            return String.valueOf(s.charAt((int) idx));
        }
        return null;
    }

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes,
            Object[] params) {
        if (method == null) {
            return null;
        }
        String name = method.toString();
        Object[] args = params == null ? new Object[0] : params;
        if (base instanceof String s) {
            Object result = stringMethod(s, name, args);
            if (result != NOT_HANDLED) {
                context.setPropertyResolved(true);
                return result;
            }
        } else if (base instanceof Map<?, ?> map && name.equals("get") && args.length == 2) {
            context.setPropertyResolved(true);
            Object key = args[0];
            return map.containsKey(key) ? map.get(key) : args[1];
        }
        return null;
    }

    private static final Object NOT_HANDLED = new Object();

    static Object stringMethod(String s, String name, Object[] a) {
        return switch (name) {
            case "strip" -> a.length <= 1 ? strip(s, arg(a, 0), true, true) : NOT_HANDLED;
            case "lstrip" -> a.length <= 1 ? strip(s, arg(a, 0), true, false) : NOT_HANDLED;
            case "rstrip" -> a.length <= 1 ? strip(s, arg(a, 0), false, true) : NOT_HANDLED;
            case "split" -> split(s, arg(a, 0), a.length > 1 ? toInt(a[1]) : -1);
            case "rsplit" -> rsplit(s, arg(a, 0), a.length > 1 ? toInt(a[1]) : -1);
            case "splitlines" -> splitlines(s);
            case "startswith" -> a.length >= 1 ? affix(s, a[0], a.length > 1 ? toInt(a[1]) : 0, true) : NOT_HANDLED;
            case "endswith" -> a.length >= 1 ? affix(s, a[0], 0, false) : NOT_HANDLED;
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "swapcase" -> swapcase(s);
            case "replace" -> a.length >= 2 ? replace(s, str(a[0]), str(a[1]), a.length > 2 ? toInt(a[2]) : -1)
                    : NOT_HANDLED;
            case "find" -> a.length >= 1 ? (long) s.indexOf(str(a[0])) : NOT_HANDLED;
            case "rfind" -> a.length >= 1 ? (long) s.lastIndexOf(str(a[0])) : NOT_HANDLED;
            case "count" -> a.length >= 1 ? count(s, str(a[0])) : NOT_HANDLED;
            case "join" -> a.length == 1 ? join(s, a[0]) : NOT_HANDLED;
            case "removeprefix" -> a.length == 1 && s.startsWith(str(a[0])) ? s.substring(str(a[0]).length())
                    : a.length == 1 ? s : NOT_HANDLED;
            case "removesuffix" -> a.length == 1 && s.endsWith(str(a[0])) && !str(a[0]).isEmpty()
                    ? s.substring(0, s.length() - str(a[0]).length())
                    : a.length == 1 ? s : NOT_HANDLED;
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(Character::isWhitespace);
            case "isupper" -> s.chars().anyMatch(Character::isUpperCase)
                    && s.chars().noneMatch(Character::isLowerCase);
            case "islower" -> s.chars().anyMatch(Character::isLowerCase)
                    && s.chars().noneMatch(Character::isUpperCase);
            case "format" -> format(s, a);
            default -> NOT_HANDLED;
        };
    }

    private static String arg(Object[] a, int i) {
        return i < a.length && a[i] != null ? a[i].toString() : null;
    }

    private static String str(Object o) {
        return o == null ? "None" : o.toString();
    }

    private static int toInt(Object o) {
        if (o instanceof Number n) {
            return n.intValue();
        }
        return o == null ? -1 : Integer.parseInt(o.toString().trim());
    }

    /** Python str.strip/lstrip/rstrip: no argument strips whitespace, otherwise any of the chars. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        if (left) {
            while (start < end && stripped(s.charAt(start), chars)) {
                start++;
            }
        }
        if (right) {
            while (end > start && stripped(s.charAt(end - 1), chars)) {
                end--;
            }
        }
        return s.substring(start, end);
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) || Character.isSpaceChar(c) : chars.indexOf(c) >= 0;
    }

    /** Python str.split: without a separator splits on runs of whitespace and drops empty parts. */
    static List<String> split(String s, String sep, int maxsplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && Character.isWhitespace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(strip(s.substring(i), null, false, true));
                    break;
                }
                int j = i;
                while (j < n && !Character.isWhitespace(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int from = 0;
        while (maxsplit < 0 || out.size() < maxsplit) {
            int idx = s.indexOf(sep, from);
            if (idx < 0) {
                break;
            }
            out.add(s.substring(from, idx));
            from = idx + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    static List<String> rsplit(String s, String sep, int maxsplit) {
        if (maxsplit < 0 || sep == null) {
            return split(s, sep, maxsplit);
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        List<String> out = new ArrayList<>();
        int end = s.length();
        while (out.size() < maxsplit) {
            int idx = s.lastIndexOf(sep, end - sep.length());
            if (idx < 0) {
                break;
            }
            out.add(0, s.substring(idx + sep.length(), end));
            end = idx;
        }
        out.add(0, s.substring(0, end));
        return out;
    }

    static List<String> splitlines(String s) {
        List<String> out = new ArrayList<>(List.of(s.split("\r\n|\r|\n", -1)));
        if (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) {
            out.remove(out.size() - 1); // a trailing line break does not start a new line
        }
        return out;
    }

    private static Object affix(String s, Object what, int start, boolean prefix) {
        String target = start > 0 && start <= s.length() ? s.substring(start) : s;
        if (what instanceof Collection<?> options) {
            for (Object o : options) {
                if (prefix ? target.startsWith(str(o)) : target.endsWith(str(o))) {
                    return true;
                }
            }
            return false;
        }
        if (what instanceof Object[] options) {
            return affix(s, List.of(options), start, prefix);
        }
        return prefix ? target.startsWith(str(what)) : target.endsWith(str(what));
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isLetter(c)) {
                sb.append(prevCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
                prevCased = true;
            } else {
                sb.append(c);
                prevCased = false;
            }
        }
        return sb.toString();
    }

    private static String swapcase(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(Character.isUpperCase(c) ? Character.toLowerCase(c)
                    : Character.isLowerCase(c) ? Character.toUpperCase(c) : c);
        }
        return sb.toString();
    }

    private static String replace(String s, String old, String rep, int count) {
        if (count < 0) {
            return s.replace(old, rep);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        int done = 0;
        while (done < count) {
            int idx = s.indexOf(old, from);
            if (idx < 0 || (old.isEmpty() && idx >= s.length())) {
                break;
            }
            sb.append(s, from, idx).append(rep);
            if (old.isEmpty()) {
                sb.append(s.charAt(idx));
                from = idx + 1;
            } else {
                from = idx + old.length();
            }
            done++;
        }
        sb.append(s.substring(Math.min(from, s.length())));
        return sb.toString();
    }

    private static long count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1L;
        }
        long n = 0;
        int from = 0;
        while ((from = s.indexOf(sub, from)) >= 0) {
            n++;
            from += sub.length();
        }
        return n;
    }

    private static String join(String sep, Object items) {
        Iterable<?> it;
        if (items instanceof Iterable<?> iterable) {
            it = iterable;
        } else if (items instanceof Object[] arr) {
            it = List.of(arr);
        } else if (items instanceof String str) {
            it = str.chars().mapToObj(c -> String.valueOf((char) c)).toList();
        } else {
            return str(items);
        }
        StringBuilder sb = new StringBuilder();
        Iterator<?> iter = it.iterator();
        while (iter.hasNext()) {
            sb.append(str(iter.next()));
            if (iter.hasNext()) {
                sb.append(sep);
            }
        }
        return sb.toString();
    }

    /** Minimal str.format: positional {} and {0}, {{ and }} escapes. */
    private static String format(String s, Object[] args) {
        StringBuilder sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{' && i + 1 < s.length() && s.charAt(i + 1) == '{') {
                sb.append('{');
                i++;
            } else if (c == '}' && i + 1 < s.length() && s.charAt(i + 1) == '}') {
                sb.append('}');
                i++;
            } else if (c == '{') {
                int close = s.indexOf('}', i);
                if (close < 0) {
                    throw new IllegalArgumentException("Single '{' encountered in format string");
                }
                String field = s.substring(i + 1, close);
                int idx = field.isEmpty() ? auto++ : Integer.parseInt(field.trim());
                if (idx >= args.length) {
                    throw new IllegalArgumentException("Replacement index " + idx + " out of range");
                }
                sb.append(str(args[idx]));
                i = close;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // not handled here
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return false;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return base instanceof String ? Object.class : null;
    }
}
