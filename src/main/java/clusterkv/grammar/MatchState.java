package clusterkv.grammar;

/**
 * Where a match of JSON text against a {@link Shape} stands: a stack of {@link Frame}s, innermost on top, each
 * knowing how the value it stands for goes on. States are immutable and compared by value, so that a mask computed
 * for one state serves every later visit to an equal one. Each state carries the fewest bytes that complete the
 * text from it, which is what lets generation close the value before its tokens run out.
 */
final class MatchState {

    /** The value is complete: nothing may follow. */
    static final MatchState DONE = new MatchState(null, null, 0);
    /** Returned by {@link Frame#feed} for a byte that ends the frame's value without being part of it. */
    static final MatchState ENDED = new MatchState(null, null, 0);

    final Frame top;
    final MatchState below;
    final int minBytes;
    private final int hash;

    private MatchState(Frame top, MatchState below, int minBytes) {
        this.top = top;
        this.below = below;
        this.minBytes = minBytes;
        this.hash = top == null ? 0 : 31 * top.hashCode() + below.hash;
    }

    static MatchState push(Frame top, MatchState below) {
        return new MatchState(top, below, Shape.add(top.minBytes(), below.minBytes));
    }

    /** The state before the first byte of a value of the shape. */
    static MatchState start(Shape root) {
        return push(new Frame.Start(root), DONE);
    }

    /** The state after one more byte, or null when the byte cannot come next. */
    MatchState advance(int b) {
        for (MatchState s = this; s != DONE; s = s.below) {
            MatchState next = s.top.feed(b, s.below);
            if (next != ENDED) return next;
            // the byte ended the innermost value (a number, say): it belongs to the value around it
        }
        return null;
    }

    /** The state after the bytes, or null when they cannot come next. */
    MatchState advance(byte[] bytes) {
        MatchState s = this;
        for (int i = 0; i < bytes.length && s != null; i++) s = s.advance(bytes[i] & 0xFF);
        return s;
    }

    /** Whether the text so far is a whole value (a number may still go on, but need not). */
    boolean complete() {
        return this == DONE || below == DONE && top.endable();
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof MatchState s) || hash != s.hash || top == null || s.top == null) return false;
        return top.equals(s.top) && below.equals(s.below);
    }

    @Override
    public int hashCode() {
        return hash;
    }
}
