package clusterkv.grammar;

/**
 * The integers an integer schema allows ({@code minimum}, {@code maximum} and their exclusive forms), and what the
 * digits written so far can still become: appending digits to a prefix reaches one interval per count of digits
 * appended, so a digit is allowed when one of those intervals meets the range, and the fewest digits that reach it
 * are the bytes still needed. Integers have at most {@link #MAX_DIGITS} digits, as the matcher writes them.
 */
record IntegerRange(long lo, long hi) {

    static final int MAX_DIGITS = 16;
    static final IntegerRange ALL = new IntegerRange(-(pow10(MAX_DIGITS) - 1), pow10(MAX_DIGITS) - 1);

    /** Whether every integer the matcher can write is allowed: then nothing need be tracked. */
    boolean unbounded() {
        return lo <= ALL.lo && hi >= ALL.hi;
    }

    boolean contains(boolean negative, long magnitude, int digits) {
        if (digits == 0) return false;
        long value = negative ? -magnitude : magnitude;
        return value >= lo && value <= hi;
    }

    /**
     * The fewest digits to append to the prefix (sign, magnitude so far, its digit count; no digit yet after a minus
     * or at the start) to reach an allowed integer, 0 when it is one already; -1 when none can be reached.
     */
    int fewestMoreDigits(boolean negative, long magnitude, int digits) {
        for (int k = 0; digits + k <= MAX_DIGITS; k++) {
            long from, to;
            if (digits == 0) {
                if (k == 0) continue;
                from = k == 1 ? 0 : pow10(k - 1);
                to = pow10(k) - 1;
            } else if (magnitude == 0) { // a leading zero: nothing may follow it
                if (k > 0) break;
                from = to = 0;
            } else {
                from = magnitude * pow10(k);
                to = from + pow10(k) - 1;
            }
            long low = negative ? -to : from, high = negative ? -from : to;
            if (high >= lo && low <= hi) return k;
        }
        return -1;
    }

    private static long pow10(int k) {
        long p = 1;
        for (int i = 0; i < k; i++) p *= 10;
        return p;
    }
}
