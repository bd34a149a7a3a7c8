package clusterkv.eval;

/** How generated text is scored. */
public final class Scoring {

    private Scoring() {}

    /** 1 when the first run of digits in the generated text is exactly the expected number, else 0. */
    public static double exactDigits(String generated, String expected) {
        int i = 0;
        while (i < generated.length() && !Character.isDigit(generated.charAt(i))) {
            if (!Character.isWhitespace(generated.charAt(i))) return 0; // the answer must come first
            i++;
        }
        int j = i;
        while (j < generated.length() && Character.isDigit(generated.charAt(j))) j++;
        return generated.substring(i, j).equals(expected) ? 1 : 0;
    }

    /**
     * 1 when the generated text begins with the expected numbers, in order (", "-separated in expected; any
     * punctuation and spaces between them in the generated text), else 0: a multi-value answer must be whole.
     */
    public static double allNumbers(String generated, String expected) {
        String[] want = expected.split(", ");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\d+").matcher(generated);
        int end = 0;
        for (String w : want) {
            if (!m.find() || !m.group().equals(w)) return 0;
            if (!generated.substring(end, m.start()).matches("[\\s,.;]*")) return 0; // nothing but separators in between
            end = m.end();
        }
        return 1;
    }

    /** 1 when the expected phrase appears in the generated text (case-insensitive), else 0. */
    public static double containsPhrase(String generated, String expected) {
        return generated.toLowerCase(java.util.Locale.ROOT).contains(expected.toLowerCase(java.util.Locale.ROOT)) ? 1 : 0;
    }

    /** The share of the expected words (", "-separated) that the generated text names as whole words, any case, any order. */
    public static double wordRecall(String generated, String expected) {
        java.util.Set<String> said = new java.util.HashSet<>(java.util.List.of(generated.toLowerCase(java.util.Locale.ROOT).split("[^a-z]+")));
        String[] want = expected.split(", ");
        int found = 0;
        for (String w : want) if (said.contains(w.toLowerCase(java.util.Locale.ROOT))) found++;
        return found / (double) want.length;
    }
}
