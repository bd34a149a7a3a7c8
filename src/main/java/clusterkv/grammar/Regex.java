package clusterkv.grammar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * A JSON schema {@code pattern} as an automaton over the characters a constrained string may hold: printable ASCII
 * but the quote and the backslash (which JSON would have to escape). The subset llama.cpp takes: anchored with
 * {@code ^...$}; literals and escaped metacharacters, {@code .}, {@code \d \w \s} and their negations, classes
 * {@code [a-z0-9_]} and {@code [^...]}, groups {@code (...)} and {@code (?:...)}, alternation, and the quantifiers
 * {@code * + ?} and {@code {n}}, {@code {n,}}, {@code {n,m}}. Built as a Thompson NFA (a state set is the match state)
 * with each state's fewest characters to acceptance. Immutable.
 */
final class Regex {

    /** The characters a pattern may produce: printable ASCII but '"' and '\\'. */
    static final BitSet PRODUCIBLE = producible();
    private static final int MAX_STATES = 4096;

    /** Per state: the characters it moves on (null: none) and where to, and its epsilon moves. */
    private final List<BitSet> on = new ArrayList<>();
    private final List<Integer> to = new ArrayList<>();
    private final List<int[]> epsilon = new ArrayList<>();
    private final int start, accept;
    private final BitSet[] closures;
    private final int[] fewest;

    private final String source;
    private int pos;

    Regex(String pattern) {
        if (!pattern.startsWith("^") || !pattern.endsWith("$") || pattern.endsWith("\\$")) {
            throw new JsonSchemaException("pattern '" + pattern + "' must start with ^ and end with $ (as llama.cpp's)");
        }
        this.source = pattern.substring(1, pattern.length() - 1);
        int[] frag = alternation();
        if (pos != source.length()) throw error("unexpected '" + source.charAt(pos) + "'");
        start = frag[0];
        accept = frag[1];
        closures = new BitSet[on.size()];
        for (int s = 0; s < on.size(); s++) closures[s] = closure(s);
        fewest = fewestToAccept();
    }

    /** The states the match is in before any character. */
    BitSet initial() {
        return closures[start];
    }

    /** The states after character c, empty when c cannot come. */
    BitSet step(BitSet states, int c) {
        BitSet next = new BitSet();
        for (int s = states.nextSetBit(0); s >= 0; s = states.nextSetBit(s + 1)) {
            BitSet chars = on.get(s);
            if (chars != null && chars.get(c)) next.or(closures[to.get(s)]);
        }
        return next;
    }

    boolean accepts(BitSet states) {
        return states.get(accept);
    }

    /** The fewest characters that take one of the states to acceptance ({@link Shape#UNBOUNDED} when none can). */
    int fewestToAccept(BitSet states) {
        int min = Shape.UNBOUNDED;
        for (int s = states.nextSetBit(0); s >= 0; s = states.nextSetBit(s + 1)) min = Math.min(min, fewest[s]);
        return min;
    }

    // ---------------------------------------------------------------- parsing: each returns a fragment {entry, exit}

    private int[] alternation() {
        int[] first = sequence();
        if (pos >= source.length() || source.charAt(pos) != '|') return first;
        int in = state(), out = state();
        epsilon(in, first[0]);
        epsilon(first[1], out);
        while (pos < source.length() && source.charAt(pos) == '|') {
            pos++;
            int[] next = sequence();
            epsilon(in, next[0]);
            epsilon(next[1], out);
        }
        return new int[]{in, out};
    }

    private int[] sequence() {
        int in = state(), at = in;
        while (pos < source.length() && source.charAt(pos) != '|' && source.charAt(pos) != ')') {
            int atomStart = pos;
            int[] atom = atom();
            atom = quantified(atom, atomStart);
            epsilon(at, atom[0]);
            at = atom[1];
        }
        return new int[]{in, at};
    }

    private int[] atom() {
        char c = source.charAt(pos++);
        switch (c) {
            case '(' -> {
                if (source.startsWith("?:", pos)) pos += 2;
                else if (pos < source.length() && source.charAt(pos) == '?') throw error("unsupported group '(?'");
                int[] inner = alternation();
                if (pos >= source.length() || source.charAt(pos) != ')') throw error("a group is not closed");
                pos++;
                return inner;
            }
            case '[' -> {
                return chars(characterClass());
            }
            case '.' -> {
                return chars(PRODUCIBLE);
            }
            case '\\' -> {
                return chars(escape(false));
            }
            case '*', '+', '?', '{', ')', '^', '$' -> throw error("unexpected '" + c + "'");
            default -> {
                BitSet one = new BitSet();
                one.set(c);
                return chars(one);
            }
        }
    }

    /** The atom repeated as its quantifier says (copies of it, built again from its source). */
    private int[] quantified(int[] atom, int atomStart) {
        if (pos >= source.length()) return atom;
        int min, max;
        char q = source.charAt(pos);
        if (q == '*') { min = 0; max = -1; pos++; }
        else if (q == '+') { min = 1; max = -1; pos++; }
        else if (q == '?') { min = 0; max = 1; pos++; }
        else if (q == '{') {
            int close = source.indexOf('}', pos);
            if (close < 0) throw error("a quantifier {...} is not closed");
            String[] parts = source.substring(pos + 1, close).split(",", -1);
            try {
                min = Integer.parseInt(parts[0].trim());
                max = parts.length == 1 ? min : parts[1].isBlank() ? -1 : Integer.parseInt(parts[1].trim());
            } catch (NumberFormatException e) {
                throw error("unsupported quantifier '" + source.substring(pos, close + 1) + "'");
            }
            if (parts.length > 2 || min < 0 || max >= 0 && max < min || Math.max(min, max) > 256) throw error("unsupported quantifier '" + source.substring(pos, close + 1) + "'");
            pos = close + 1;
        } else {
            return atom;
        }
        int atomEnd = pos;
        // copies: the first is the atom itself; each further one is parsed again from the atom's text
        int in = state(), at = in;
        List<int[]> copies = new ArrayList<>();
        copies.add(atom);
        int needed = Math.max(min, max < 0 ? Math.max(min, 1) : max);
        for (int i = 1; i < needed; i++) copies.add(reparse(atomStart, atomEnd));
        for (int i = 0; i < min; i++) {
            epsilon(at, copies.get(i)[0]);
            at = copies.get(i)[1];
        }
        if (max < 0) { // unbounded: the last copy loops
            int[] loop = min > 0 ? copies.get(min - 1) : copies.get(0);
            if (min == 0) {
                epsilon(at, loop[0]);
                epsilon(loop[1], at);
            } else {
                epsilon(loop[1], loop[0]);
            }
            return new int[]{in, at};
        }
        int out = state();
        epsilon(at, out);
        for (int i = min; i < max; i++) { // optional copies, each may end the repetition
            epsilon(at, copies.get(i)[0]);
            at = copies.get(i)[1];
            epsilon(at, out);
        }
        return new int[]{in, out};
    }

    /** Parses the atom at [from, to) again, for another copy of it. */
    private int[] reparse(int from, int to) {
        int saved = pos;
        pos = from;
        int[] copy = atom();
        pos = saved;
        return copy;
    }

    private BitSet characterClass() {
        boolean negate = pos < source.length() && source.charAt(pos) == '^';
        if (negate) pos++;
        BitSet set = new BitSet();
        boolean first = true;
        while (pos < source.length() && (source.charAt(pos) != ']' || first)) {
            first = false;
            char c = source.charAt(pos++);
            BitSet item;
            if (c == '\\') item = escape(true);
            else {
                item = new BitSet();
                item.set(c);
            }
            if (item.cardinality() == 1 && pos + 1 < source.length() && source.charAt(pos) == '-' && source.charAt(pos + 1) != ']') {
                pos++;
                char hi = source.charAt(pos++);
                if (hi == '\\') hi = (char) escape(true).nextSetBit(0);
                int lo = item.nextSetBit(0);
                if (hi < lo) throw error("a range runs backwards");
                item.set(lo, hi + 1);
            }
            set.or(item);
        }
        if (pos >= source.length()) throw error("a class [...] is not closed");
        pos++;
        if (negate) {
            BitSet all = (BitSet) PRODUCIBLE.clone();
            all.andNot(set);
            return all;
        }
        return set;
    }

    private BitSet escape(boolean inClass) {
        if (pos >= source.length()) throw error("a pattern cannot end with a backslash");
        char c = source.charAt(pos++);
        BitSet set = new BitSet();
        switch (c) {
            case 'd', 'D' -> set.set('0', '9' + 1);
            case 'w', 'W' -> { set.set('0', '9' + 1); set.set('a', 'z' + 1); set.set('A', 'Z' + 1); set.set('_'); }
            case 's', 'S' -> set.set(' ');
            default -> {
                if (Character.isLetterOrDigit(c)) throw error("unsupported escape '\\" + c + "'");
                set.set(c);
                return set;
            }
        }
        if (Character.isUpperCase(c)) {
            BitSet all = (BitSet) PRODUCIBLE.clone();
            all.andNot(set);
            return all;
        }
        return set;
    }

    // ---------------------------------------------------------------- the automaton

    private int[] chars(BitSet set) {
        BitSet producible = (BitSet) set.clone();
        producible.and(PRODUCIBLE);
        int in = state(), out = state();
        on.set(in, producible);
        to.set(in, out);
        return new int[]{in, out};
    }

    private int state() {
        if (on.size() >= MAX_STATES) throw new JsonSchemaException("pattern '^" + source + "$' is too large (over " + MAX_STATES + " states)");
        on.add(null);
        to.add(-1);
        epsilon.add(new int[0]);
        return on.size() - 1;
    }

    private void epsilon(int from, int target) {
        int[] e = epsilon.get(from);
        e = Arrays.copyOf(e, e.length + 1);
        e[e.length - 1] = target;
        epsilon.set(from, e);
    }

    private BitSet closure(int s) {
        BitSet seen = new BitSet();
        java.util.ArrayDeque<Integer> todo = new java.util.ArrayDeque<>();
        todo.add(s);
        seen.set(s);
        while (!todo.isEmpty()) {
            for (int t : epsilon.get(todo.poll())) if (!seen.get(t)) { seen.set(t); todo.add(t); }
        }
        return seen;
    }

    /** Per state, the fewest characters to acceptance: a breadth-first search backwards, epsilon moves costing 0. */
    private int[] fewestToAccept() {
        int n = on.size();
        int[] d = new int[n];
        Arrays.fill(d, Shape.UNBOUNDED);
        for (boolean changed = true; changed; ) { // Bellman-Ford on a small graph: edges cost 0 or 1
            changed = false;
            for (int s = 0; s < n; s++) {
                int best = s == accept ? 0 : d[s];
                for (int t : epsilon.get(s)) best = Math.min(best, d[t]);
                if (on.get(s) != null && !on.get(s).isEmpty()) best = Math.min(best, Shape.add(d[to.get(s)], 1));
                if (best < d[s]) { d[s] = best; changed = true; }
            }
        }
        return d;
    }

    private JsonSchemaException error(String what) {
        return new JsonSchemaException("unsupported pattern '^" + source + "$': " + what + " (the subset: literals, ., \\d \\w \\s, [classes], groups, |, * + ? {n,m})");
    }

    private static BitSet producible() {
        BitSet set = new BitSet();
        set.set(0x20, 0x7F);
        set.clear('"');
        set.clear('\\');
        return set;
    }
}
