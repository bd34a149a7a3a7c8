package clusterkv.grammar;

import clusterkv.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The vocabulary as a trie of the bytes each token writes, so that the tokens allowed in a match state are found by
 * one walk that advances the state a byte per edge and skips a whole subtree at the first byte the state refuses:
 * tokens sharing a prefix share its work. Control tokens (which write nothing) are not in it; the end-of-generation
 * tokens are kept apart. Built once per tokenizer and shared; immutable.
 */
final class TokenTrie {

    private static final Map<Tokenizer, TokenTrie> BUILT = new WeakHashMap<>();

    final int vocabSize;
    final int[] endOfGeneration;
    /** The most bytes one token writes. */
    final int longestToken;
    /** Per node: the byte on the edge into it, its first child, its next sibling, the first token ending at it. */
    private final byte[] edge;
    private final int[] firstChild, nextSibling, firstToken;
    /** Per token: the next token with the same bytes. */
    private final int[] sameBytes;
    private final byte[][] bytes;

    static synchronized TokenTrie of(Tokenizer tokenizer) {
        return BUILT.computeIfAbsent(tokenizer, TokenTrie::new);
    }

    private TokenTrie(Tokenizer tokenizer) {
        vocabSize = tokenizer.vocabSize();
        bytes = new byte[vocabSize][];
        int longest = 0, total = 1;
        Integer[] order = new Integer[vocabSize];
        int n = 0;
        for (int id = 0; id < vocabSize; id++) {
            bytes[id] = tokenizer.tokenBytes(id, false);
            if (bytes[id].length == 0 || tokenizer.isEndOfGeneration(id)) continue;
            order[n++] = id;
            longest = Math.max(longest, bytes[id].length);
            total += bytes[id].length;
        }
        longestToken = longest;
        endOfGeneration = java.util.stream.IntStream.range(0, vocabSize).filter(tokenizer::isEndOfGeneration).toArray();
        Integer[] sorted = Arrays.copyOf(order, n);
        Arrays.sort(sorted, (a, b) -> Arrays.compareUnsigned(bytes[a], bytes[b]));
        edge = new byte[total];
        firstChild = new int[total];
        nextSibling = new int[total];
        firstToken = new int[total];
        sameBytes = new int[vocabSize];
        Arrays.fill(firstChild, -1);
        Arrays.fill(nextSibling, -1);
        Arrays.fill(firstToken, -1);
        Arrays.fill(sameBytes, -1);
        insertSorted(sorted);
    }

    /**
     * Sorted, each token shares with the previous one the path of their common prefix: the path is kept as a stack
     * and only the rest is added, each new node the last child of its parent (so children stay in byte order).
     */
    private void insertSorted(Integer[] sorted) {
        int[] path = new int[longestToken + 1];
        int[] lastChild = new int[edge.length];
        Arrays.fill(lastChild, -1);
        int nodes = 1;
        byte[] previous = new byte[0];
        for (int id : sorted) {
            byte[] b = bytes[id];
            int common = Arrays.mismatch(previous, b);
            if (common < 0) common = b.length; // the same bytes as the previous token
            for (int depth = common; depth < b.length; depth++) {
                int parent = path[depth], node = nodes++;
                edge[node] = b[depth];
                if (lastChild[parent] < 0) firstChild[parent] = node;
                else nextSibling[lastChild[parent]] = node;
                lastChild[parent] = node;
                path[depth + 1] = node;
            }
            int end = path[b.length];
            sameBytes[id] = firstToken[end];
            firstToken[end] = id;
            previous = b;
        }
    }

    byte[] bytes(int token) {
        return bytes[token];
    }

    /**
     * Sets in {@code allowed} the bit of every token the state accepts whole and, when {@code budget >= 0}, can still
     * be completed from in budget bytes; adds to {@code raising} the allowed tokens that raise the bytes needed.
     */
    void allowed(MatchState state, int budget, long[] allowed, Raising raising) {
        walk(0, state, budget, allowed, raising);
    }

    private void walk(int node, MatchState state, int budget, long[] allowed, Raising raising) {
        for (int child = firstChild[node]; child >= 0; child = nextSibling[child]) {
            MatchState next = state.advance(edge[child] & 0xFF);
            if (next == null) continue;
            if (budget < 0 || next.minBytes <= budget) {
                for (int t = firstToken[child]; t >= 0; t = sameBytes[t]) {
                    allowed[t >>> 6] |= 1L << t;
                    raising.add(t, next.minBytes);
                }
            }
            if (firstChild[child] >= 0 && next != MatchState.DONE) walk(child, next, budget, allowed, raising);
        }
    }

    /** The tokens that leave more bytes to write than there were before them, and how many. */
    static final class Raising {
        private final int before;
        private int[] tokens = new int[16], minBytes = new int[16];
        private int n;

        Raising(int before) {
            this.before = before;
        }

        void add(int token, int after) {
            if (after <= before) return;
            if (n == tokens.length) {
                tokens = Arrays.copyOf(tokens, 2 * n);
                minBytes = Arrays.copyOf(minBytes, 2 * n);
            }
            tokens[n] = token;
            minBytes[n++] = after;
        }

        int[] tokens() {
            return Arrays.copyOf(tokens, n);
        }

        int[] minBytes() {
            return Arrays.copyOf(minBytes, n);
        }
    }
}
