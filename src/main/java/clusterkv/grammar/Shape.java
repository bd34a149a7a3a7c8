package clusterkv.grammar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What a JSON value may be: the compiled form of a JSON schema, which {@link Frame}s walk byte by byte. Each shape
 * knows how a value of it begins ({@link #begin}) and the fewest bytes a value of it can take ({@link #minBytes}),
 * which lets generation close the value before its token budget runs out. Shapes are built once per schema and
 * compared by identity.
 */
abstract sealed class Shape permits Shape.Text, Shape.Number, Shape.Literals, Shape.Members, Shape.Dict, Shape.Array, Shape.OneOf, Shape.Ref, Shape.Then, Shape.Pattern {

    /** Saturates sums: a recursive schema whose values cannot end has this many. */
    static final int UNBOUNDED = 1 << 24;

    int minBytes = UNBOUNDED;

    /**
     * The state after the first byte {@code b} of a value of this shape, on top of {@code below} (where the value
     * returns when it ends), or null when no value of this shape starts with {@code b}.
     */
    abstract MatchState begin(int b, MatchState below);

    /** The fewest bytes a value takes, from the current {@link #minBytes} of the shapes it contains. */
    abstract int computeMinBytes();

    static int add(int a, int b) {
        return Math.min(UNBOUNDED, a + b);
    }

    /** A string: its length counted in characters, as JSON schema counts it. */
    static final class Text extends Shape {
        static final Text ANY = new Text(0, UNBOUNDED);
        final int minLength, maxLength;

        Text(int minLength, int maxLength) {
            this.minLength = minLength;
            this.maxLength = maxLength;
        }

        MatchState begin(int b, MatchState below) {
            return b == '"' ? MatchState.push(new Frame.Str(this, 0, 0, 0), below) : null;
        }

        int computeMinBytes() {
            return add(2, minLength);
        }
    }

    /** A number, or with {@code integer} an integer (no fraction, no exponent) in a range. */
    static final class Number extends Shape {
        static final Number ANY = new Number(false, IntegerRange.ALL);
        final boolean integer;
        /** The integers allowed; numbers that are not integers have no range. */
        final IntegerRange range;

        Number(boolean integer, IntegerRange range) {
            this.integer = integer;
            this.range = range;
        }

        /** Whether the digits must be followed to keep the value in range. */
        boolean bounded() {
            return !range.unbounded();
        }

        MatchState begin(int b, MatchState below) {
            return Frame.Num.start(this, b, below);
        }

        int computeMinBytes() {
            if (!bounded()) return 1;
            int positive = range.fewestMoreDigits(false, 0, 0), negative = range.fewestMoreDigits(true, 0, 0);
            return Math.min(positive < 0 ? UNBOUNDED : positive, negative < 0 ? UNBOUNDED : 1 + negative);
        }
    }

    /**
     * One of a fixed set of texts: enum, const, booleans and null; or, with {@code then}, a set of texts each
     * followed by its own shape (a tool call's name decides its arguments' schema).
     */
    static final class Literals extends Shape {
        static final Literals TRUE_FALSE_NULL = of("true", "false", "null");
        final byte[][] texts;
        /** Per text, the shape that follows it, or null (nothing: the literal is the whole value). */
        final Shape[] then;

        Literals(byte[][] texts) {
            this(texts, new Shape[texts.length]);
        }

        Literals(byte[][] texts, Shape[] then) {
            this.texts = texts;
            this.then = then;
        }

        /** The bytes of text i still to come from pos on, with the shape after it. */
        int minBytesFrom(int i, int pos) {
            return add(texts[i].length - pos, then[i] == null ? 0 : then[i].minBytes);
        }

        /** Text i is matched whole: its value ends, or its following shape begins with the next byte. */
        MatchState matched(int i, MatchState below) {
            return then[i] == null ? below : MatchState.push(new Frame.Start(then[i]), below);
        }

        static Literals of(String... texts) {
            byte[][] bytes = new byte[texts.length][];
            for (int i = 0; i < texts.length; i++) bytes[i] = texts[i].getBytes(StandardCharsets.UTF_8);
            return new Literals(bytes);
        }

        MatchState begin(int b, MatchState below) {
            return Frame.Lit.start(this, b, below);
        }

        int computeMinBytes() {
            int min = UNBOUNDED;
            for (int i = 0; i < texts.length; i++) min = Math.min(min, minBytesFrom(i, 0));
            return min;
        }
    }

    /** An object with declared properties, written in their declared order; the required ones must appear. */
    static final class Members extends Shape {
        /** Each key as JSON text, quotes included, so that matching a key is matching its bytes. */
        final byte[][] keys;
        final Shape[] values;
        final boolean[] required;
        /** Per index i: the fewest bytes after property i-1's value to the closing brace (the required ones from i). */
        int[] afterCost;

        Members(byte[][] keys, Shape[] values, boolean[] required) {
            this.keys = keys;
            this.values = values;
            this.required = required;
        }

        int size() {
            return keys.length;
        }

        /** The first required property at or after i, or size() when none is left. */
        int firstRequired(int i) {
            while (i < size() && !required[i]) i++;
            return i;
        }

        /** The properties that may come next after property i-1: the optional ones up to and including the next required one. */
        int candidatesEnd(int i) {
            return Math.min(size(), firstRequired(i) + 1);
        }

        /** The fewest bytes from the start of property c's key to the closing brace. */
        int costThrough(int c) {
            return add(add(keys[c].length + 1, values[c].minBytes), afterCost[c + 1]);
        }

        /** The fewest bytes from a position where a key must begin (after a comma) to the brace: the cheapest candidate. */
        int keyCost(int i) {
            int min = UNBOUNDED;
            for (int c = i; c < candidatesEnd(i); c++) min = Math.min(min, costThrough(c));
            return min;
        }

        MatchState begin(int b, MatchState below) {
            return b == '{' ? MatchState.push(new Frame.Obj(this, 0, Frame.OPEN, 0, null, 0), below) : null;
        }

        int computeMinBytes() {
            afterCost = new int[size() + 1];
            afterCost[size()] = 1;
            for (int i = size() - 1; i >= 0; i--) {
                afterCost[i] = required[i] ? add(add(1 + keys[i].length + 1, values[i].minBytes), afterCost[i + 1]) : afterCost[i + 1];
            }
            int r = firstRequired(0);
            return add(1, r == size() ? 1 : costThrough(r));
        }
    }

    /** An object with any keys, each value of one shape (additionalProperties; any object at all for json_object). */
    static final class Dict extends Shape {
        final Shape values;

        Dict(Shape values) {
            this.values = values;
        }

        MatchState begin(int b, MatchState below) {
            return b == '{' ? MatchState.push(new Frame.MapF(this, Frame.OPEN, 0), below) : null;
        }

        int computeMinBytes() {
            return 2;
        }
    }

    /** An array of items of one shape, with at least minItems and at most maxItems of them. */
    static final class Array extends Shape {
        final Shape items;
        final int minItems, maxItems;

        Array(Shape items, int minItems, int maxItems) {
            this.items = items;
            this.minItems = minItems;
            this.maxItems = maxItems;
        }

        /** The fewest bytes to the closing bracket once count items are written and the next byte is a comma or the bracket. */
        int afterCost(int count) {
            int missing = Math.max(0, minItems - count);
            return add((int) Math.min(UNBOUNDED, (long) missing * add(1, items.minBytes)), 1);
        }

        MatchState begin(int b, MatchState below) {
            return b == '[' ? MatchState.push(new Frame.Arr(this, 0, Frame.OPEN, 0), below) : null;
        }

        int computeMinBytes() {
            return minItems == 0 ? 2 : add(add(1, items.minBytes), afterCost(1));
        }
    }

    /** One of several shapes, told apart by their first byte (the compiler refuses alternatives that start alike). */
    static final class OneOf extends Shape {
        static final OneOf ANY_JSON = any();
        final List<Shape> alternatives;

        OneOf(List<Shape> alternatives) {
            this.alternatives = alternatives;
        }

        private static OneOf any() {
            OneOf any = new OneOf(new ArrayList<>());
            any.alternatives.addAll(List.of(Text.ANY, Number.ANY, Literals.TRUE_FALSE_NULL, new Dict(any), new Array(any, 0, UNBOUNDED)));
            for (int pass = 0; pass < 3; pass++) for (Shape s : any.alternatives) s.minBytes = s.computeMinBytes();
            any.minBytes = any.computeMinBytes();
            return any;
        }

        MatchState begin(int b, MatchState below) {
            for (Shape s : alternatives) {
                MatchState next = s.begin(b, below);
                if (next != null) return next;
            }
            return null;
        }

        int computeMinBytes() {
            int min = UNBOUNDED;
            for (Shape s : alternatives) min = Math.min(min, s.minBytes);
            return min;
        }
    }

    /** A {@code $ref}: resolved after the shape it names is compiled, which may contain this reference. */
    static final class Ref extends Shape {
        Shape target;
        MatchState begin(int b, MatchState below) {
            return target.begin(b, below); // the compiler refuses a reference that reaches itself before a byte
        }

        int computeMinBytes() {
            return target.minBytes;
        }
    }


    /** One shape followed by another: a tool call's fixed text around its JSON. */
    static final class Then extends Shape {
        final Shape first, rest;

        Then(Shape first, Shape rest) {
            this.first = first;
            this.rest = rest;
        }

        MatchState begin(int b, MatchState below) {
            return first.begin(b, MatchState.push(new Frame.Start(rest), below));
        }

        int computeMinBytes() {
            return add(first.minBytes, rest.minBytes);
        }
    }

    /** A string matching a regular expression ({@code pattern}): its characters are those the automaton allows. */
    static final class Pattern extends Shape {
        final Regex regex;

        Pattern(Regex regex) {
            this.regex = regex;
        }

        MatchState begin(int b, MatchState below) {
            return b == '"' ? MatchState.push(new Frame.Pat(this, regex.initial()), below) : null;
        }

        int computeMinBytes() {
            return add(2, regex.fewestToAccept(regex.initial()));
        }
    }
}
