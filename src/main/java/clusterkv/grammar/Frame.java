package clusterkv.grammar;

import java.util.BitSet;

import static clusterkv.grammar.MatchState.push;
import static clusterkv.grammar.Shape.add;

/**
 * One level of a {@link MatchState}: a value being written, and how far it has come. {@link #feed} takes the next
 * byte and returns the whole new state: the frame replaced by its successor, a value nested inside it begun on top
 * of it, {@code below} when the byte closed the value, {@link MatchState#ENDED} when the byte ended the value
 * without belonging to it (a number ends at the comma after it), or null when the byte cannot come next.
 * Frames are records, compared by value: counters saturate where no limit needs them, so that states repeat.
 */
sealed interface Frame {

    /** Stages of objects and arrays: after the opening bracket, inside a key, before the colon, before a value, after a value, after a comma. */
    int OPEN = 0, KEY = 1, COLON = 2, VALUE = 3, AFTER = 4, COMMA = 5;

    MatchState feed(int b, MatchState below);

    /** The fewest bytes that complete this frame's value. */
    int minBytes();

    /** Whether the value may end here, without a closing byte of its own (numbers and literals that may go on). */
    default boolean endable() {
        return false;
    }

    /**
     * Whitespace between tokens of objects and arrays, as llama.cpp's JSON grammars allow it: one space, or a newline
     * and up to 20 spaces or tabs of indentation. Returns the state after b, or -1 when b is not such whitespace.
     */
    static int space(int ws, int b) {
        if (ws == 0) return b == ' ' ? 1 : b == '\n' ? 2 : -1;
        return ws >= 2 && ws < 22 && (b == ' ' || b == '\t') ? ws + 1 : -1;
    }

    /** Before the first byte of the top-level value. */
    record Start(Shape shape) implements Frame {
        public MatchState feed(int b, MatchState below) {
            return shape.begin(b, below);
        }

        public int minBytes() {
            return shape.minBytes;
        }
    }

    /** Inside a string: characters so far, UTF-8 continuation bytes still due, and an escape in progress (-1 after a backslash, else hex digits due). */
    record Str(Shape.Text shape, int chars, int pending, int escape) implements Frame {
        private static final String ESCAPED = "\"\\/bfnrt";

        public MatchState feed(int b, MatchState below) {
            if (escape == -1) {
                if (b == 'u') return push(new Str(shape, chars, 0, 4), below);
                return ESCAPED.indexOf(b) >= 0 ? oneMore(below) : null;
            }
            if (escape > 0) {
                if (Character.digit(b, 16) < 0) return null;
                return escape == 1 ? oneMore(below) : push(new Str(shape, chars, 0, escape - 1), below);
            }
            if (pending > 0) {
                if ((b & 0xC0) != 0x80) return null;
                return pending == 1 ? oneMore(below) : push(new Str(shape, chars, pending - 1, 0), below);
            }
            if (b == '"') return chars >= shape.minLength ? below : null;
            if (chars >= shape.maxLength || b < 0x20) return null;
            if (b == '\\') return push(new Str(shape, chars, 0, -1), below);
            if (b < 0x80) return oneMore(below);
            int continuation = b >= 0xC2 && b <= 0xDF ? 1 : b >= 0xE0 && b <= 0xEF ? 2 : b >= 0xF0 && b <= 0xF4 ? 3 : 0;
            return continuation == 0 ? null : push(new Str(shape, chars, continuation, 0), below);
        }

        /** A character is complete; without a maximum, counting stops at the minimum, so that states repeat. */
        private MatchState oneMore(MatchState below) {
            int counted = shape.maxLength >= Shape.UNBOUNDED ? Math.min(chars + 1, shape.minLength) : chars + 1;
            return push(new Str(shape, counted, 0, 0), below);
        }

        public int minBytes() {
            int finishing = escape == -1 ? 1 : escape > 0 ? escape : pending;
            int written = chars + (finishing > 0 ? 1 : 0);
            return add(finishing + Math.max(0, shape.minLength - written), 1);
        }
    }

    /** Inside a string held to a pattern: the automaton's states after the characters so far. */
    record Pat(Shape.Pattern shape, BitSet states) implements Frame {
        public MatchState feed(int b, MatchState below) {
            if (b == '"') return shape.regex.accepts(states) ? below : null;
            if (!Regex.PRODUCIBLE.get(b)) return null;
            BitSet next = shape.regex.step(states, b);
            return next.isEmpty() ? null : push(new Pat(shape, next), below);
        }

        public int minBytes() {
            return add(shape.regex.fewestToAccept(states), 1);
        }
    }

    /**
     * Inside a number: the part being written, and its digits so far (capped: 16 integer and fraction digits, 3 of
     * exponent); for an integer in a range, also its sign and value so far (else left 0, so that states repeat).
     */
    record Num(Shape.Number shape, int part, int digits, boolean negative, long magnitude) implements Frame {
        static final int MINUS = 0, ZERO = 1, INT = 2, DOT = 3, FRACTION = 4, E = 5, E_SIGN = 6, EXPONENT = 7;

        static MatchState start(Shape.Number shape, int b, MatchState below) {
            Num next = b == '-' ? new Num(shape, MINUS, 0, shape.bounded(), 0) : new Num(shape, MINUS, 0, false, 0).digit(b);
            if (next == null || b == '-' && shape.bounded() && shape.range.fewestMoreDigits(true, 0, 0) < 0) return null; // no negative allowed
            return push(next, below);
        }

        /** The integer part with one more digit, or null when b is not a digit that may come. */
        private Num digit(int b) {
            if (b < '0' || b > '9' || digits >= IntegerRange.MAX_DIGITS || part == ZERO) return null;
            int d = b - '0';
            long value = shape.bounded() ? magnitude * 10 + d : 0;
            Num next = new Num(shape, digits == 0 && d == 0 ? ZERO : INT, digits + 1, negative && shape.bounded(), value);
            return shape.bounded() && shape.range.fewestMoreDigits(next.negative, next.magnitude, next.digits) < 0 ? null : next;
        }

        private Num part(int p, int n) {
            return new Num(shape, p, n, negative, magnitude);
        }

        public MatchState feed(int b, MatchState below) {
            boolean integer = shape.integer, digit = b >= '0' && b <= '9';
            boolean dot = b == '.' && !integer, e = (b == 'e' || b == 'E') && !integer;
            Num next = switch (part) {
                case MINUS, INT -> digit ? digit(b) : part == INT && dot ? part(DOT, 0) : part == INT && e ? part(E, 0) : null;
                case ZERO -> dot ? part(DOT, 0) : e ? part(E, 0) : null;
                case DOT -> digit ? part(FRACTION, 1) : null;
                case FRACTION -> digit && digits < 16 ? part(FRACTION, digits + 1) : e ? part(E, 0) : null;
                case E -> b == '+' || b == '-' ? part(E_SIGN, 0) : digit ? part(EXPONENT, 1) : null;
                case E_SIGN -> digit ? part(EXPONENT, 1) : null;
                default -> digit && digits < 3 ? part(EXPONENT, digits + 1) : null;
            };
            if (next != null) return push(next, below);
            return endable() ? MatchState.ENDED : null;
        }

        public boolean endable() {
            boolean whole = part == ZERO || part == INT || part == FRACTION || part == EXPONENT;
            return whole && (!shape.bounded() || shape.range.contains(negative, magnitude, digits));
        }

        public int minBytes() {
            if (shape.bounded()) return shape.range.fewestMoreDigits(negative, magnitude, digits);
            return endable() ? 0 : 1;
        }
    }

    /** Inside one of a set of literal texts: those still matching, and how many bytes of them are written. */
    record Lit(Shape.Literals shape, BitSet live, int pos) implements Frame {

        static MatchState start(Shape.Literals shape, int b, MatchState below) {
            BitSet all = new BitSet();
            all.set(0, shape.texts.length);
            return new Lit(shape, all, 0).feed(b, below);
        }

        public MatchState feed(int b, MatchState below) {
            byte[][] texts = shape.texts;
            BitSet next = new BitSet();
            boolean longer = false;
            int whole = -1;
            for (int i = live.nextSetBit(0); i >= 0; i = live.nextSetBit(i + 1)) {
                if (texts[i].length > pos && texts[i][pos] == (byte) b) {
                    next.set(i);
                    if (texts[i].length > pos + 1) longer = true;
                    else whole = i;
                }
            }
            if (next.isEmpty()) {
                int ended = matchedWhole();
                if (ended < 0) return null;
                // the byte is past a text matched whole: it belongs to what follows that text
                return shape.then[ended] == null ? MatchState.ENDED : shape.then[ended].begin(b, below);
            }
            return longer ? push(new Lit(shape, next, pos + 1), below) : shape.matched(whole, below);
        }

        /** The text matched whole at pos, or -1. */
        private int matchedWhole() {
            for (int i = live.nextSetBit(0); i >= 0; i = live.nextSetBit(i + 1)) if (shape.texts[i].length == pos) return i;
            return -1;
        }

        public boolean endable() {
            int whole = matchedWhole();
            return whole >= 0 && shape.then[whole] == null;
        }

        public int minBytes() {
            int min = Shape.UNBOUNDED;
            for (int i = live.nextSetBit(0); i >= 0; i = live.nextSetBit(i + 1)) min = Math.min(min, shape.minBytesFrom(i, pos));
            return min;
        }
    }

    /**
     * Inside an object with declared properties: {@code next} is the index after the last property written (the one
     * whose value comes, in COLON and VALUE); in KEY, {@code live} are the properties whose key still matches and
     * {@code pos} the bytes of it written, the opening quote included.
     */
    record Obj(Shape.Members shape, int next, int stage, int ws, BitSet live, int pos) implements Frame {

        public MatchState feed(int b, MatchState below) {
            if (stage == KEY) return key(b, below);
            int w = space(ws, b);
            if (w >= 0) return push(new Obj(shape, next, stage, w, null, 0), below);
            boolean mayClose = shape.firstRequired(next) == shape.size();
            return switch (stage) {
                case OPEN -> b == '"' ? startKey(below) : b == '}' && mayClose ? below : null;
                case COLON -> b == ':' ? push(new Obj(shape, next, VALUE, 0, null, 0), below) : null;
                case VALUE -> shape.values[next - 1].begin(b, push(new Obj(shape, next, AFTER, 0, null, 0), below));
                case AFTER -> b == ',' && next < shape.size() ? push(new Obj(shape, next, COMMA, 0, null, 0), below)
                        : b == '}' && mayClose ? below : null;
                default -> b == '"' ? startKey(below) : null; // COMMA
            };
        }

        private MatchState startKey(MatchState below) {
            if (next >= shape.size()) return null;
            BitSet candidates = new BitSet();
            candidates.set(next, shape.candidatesEnd(next));
            return push(new Obj(shape, next, KEY, 0, candidates, 1), below);
        }

        private MatchState key(int b, MatchState below) {
            BitSet matching = new BitSet();
            for (int c = live.nextSetBit(0); c >= 0; c = live.nextSetBit(c + 1)) {
                byte[] k = shape.keys[c];
                if (k.length > pos && k[pos] == (byte) b) {
                    if (k.length == pos + 1) return push(new Obj(shape, c + 1, COLON, 0, null, 0), below); // its closing quote
                    matching.set(c);
                }
            }
            return matching.isEmpty() ? null : push(new Obj(shape, next, KEY, 0, matching, pos + 1), below);
        }

        public int minBytes() {
            return switch (stage) {
                case OPEN -> shape.firstRequired(next) == shape.size() ? 1 : shape.costThrough(shape.firstRequired(next));
                case KEY -> {
                    int min = Shape.UNBOUNDED;
                    for (int c = live.nextSetBit(0); c >= 0; c = live.nextSetBit(c + 1)) min = Math.min(min, shape.costThrough(c) - pos);
                    yield min;
                }
                case COLON -> add(add(1, shape.values[next - 1].minBytes), shape.afterCost[next]);
                case VALUE -> add(shape.values[next - 1].minBytes, shape.afterCost[next]);
                case AFTER -> shape.afterCost[next];
                default -> shape.keyCost(next);
            };
        }
    }

    /** Inside an object with free keys: the key is a string frame pushed on top of this one, in stage COLON. */
    record MapF(Shape.Dict shape, int stage, int ws) implements Frame {

        public MatchState feed(int b, MatchState below) {
            int w = space(ws, b);
            if (w >= 0) return push(new MapF(shape, stage, w), below);
            return switch (stage) {
                case OPEN -> b == '}' ? below : Shape.Text.ANY.begin(b, push(new MapF(shape, COLON, 0), below));
                case COLON -> b == ':' ? push(new MapF(shape, VALUE, 0), below) : null;
                case VALUE -> shape.values.begin(b, push(new MapF(shape, AFTER, 0), below));
                case AFTER -> b == ',' ? push(new MapF(shape, COMMA, 0), below) : b == '}' ? below : null;
                default -> Shape.Text.ANY.begin(b, push(new MapF(shape, COLON, 0), below)); // COMMA
            };
        }

        public int minBytes() {
            int value = shape.values.minBytes;
            return switch (stage) {
                case OPEN, AFTER -> 1;
                case COLON -> add(2, value);
                case VALUE -> add(1, value);
                default -> add(4, value); // COMMA: "":v}
            };
        }
    }

    /** Inside an array: items written so far (capped at minItems when there is no maximum, so that states repeat). */
    record Arr(Shape.Array shape, int count, int stage, int ws) implements Frame {

        public MatchState feed(int b, MatchState below) {
            int w = space(ws, b);
            if (w >= 0) return push(new Arr(shape, count, stage, w), below);
            return switch (stage) {
                case OPEN -> b == ']' && shape.minItems == 0 ? below : shape.maxItems > 0 ? item(b, below) : null;
                case AFTER -> b == ',' && count < shape.maxItems ? push(new Arr(shape, count, COMMA, 0), below)
                        : b == ']' && count >= shape.minItems ? below : null;
                default -> item(b, below); // COMMA
            };
        }

        private MatchState item(int b, MatchState below) {
            int counted = shape.maxItems >= Shape.UNBOUNDED ? Math.min(count + 1, shape.minItems) : count + 1;
            return shape.items.begin(b, push(new Arr(shape, counted, AFTER, 0), below));
        }

        public int minBytes() {
            return switch (stage) {
                case OPEN -> shape.minItems == 0 ? 1 : add(shape.items.minBytes, shape.afterCost(1));
                case AFTER -> shape.afterCost(count);
                default -> add(shape.items.minBytes, shape.afterCost(count + 1));
            };
        }
    }
}
