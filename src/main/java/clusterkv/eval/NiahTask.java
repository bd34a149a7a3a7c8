package clusterkv.eval;

import clusterkv.chat.ChatMessage;
import clusterkv.chat.ChatPrompt;
import clusterkv.chat.ChatTemplate;
import clusterkv.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Needle in a haystack for instruct models (the RULER single-needle format): " The special magic number for
 * CITY is NNNNNNN." at a depth inside real text, then the question, all in one user message rendered with the
 * model's chat template. Score = the number appears in the answer.
 */
public final class NiahTask {

    static final List<String> CITIES = List.of("Paris", "Lisbon", "Kyoto", "Nairobi", "Oslo", "Lima", "Hanoi", "Quebec",
            "Dublin", "Cairo", "Perth", "Tbilisi", "Bergen", "Porto", "Seville", "Krakow");
    /** Tokens left free after the prompt for the answer. */
    static final int ANSWER_ROOM = 40;

    private NiahTask() {}

    public static RetrievalCase generate(Tokenizer tok, ChatTemplate template, String corpus, int contextTokens, double depth, long seed) {
        if (depth < 0 || depth > 1) throw new IllegalArgumentException("depth must be in [0, 1], got " + depth);
        SplittableRandom rnd = new SplittableRandom(seed);
        String city = CITIES.get(rnd.nextInt(CITIES.size()));
        String number = Integer.toString(1_000_000 + rnd.nextInt(9_000_000));
        String needle = "The special magic number for " + city + " is " + number + ".";
        String question = "What is the special magic number for " + city + " mentioned in the text above? Answer with the number only.";
        int limit = contextTokens - ANSWER_ROOM;
        List<String> sentences = Corpus.sentences(corpus, rnd.nextInt(Math.max(1, corpus.length())), contextTokens * 6);
        int keep = sentences.size();
        for (int attempt = 0; attempt < 64; attempt++) {
            List<String> haystack = sentences.subList(0, keep);
            int at = boundaryAt(haystack, depth);
            String text = render(template, haystack, at, needle, question);
            int[] ids = ChatPrompt.encode(tok, text);
            if (ids.length <= limit) {
                int needleStart = ChatPrompt.encode(tok, text.substring(0, text.indexOf(needle)).stripTrailing()).length;
                return new RetrievalCase("niah", ids, number, needleStart, charsBefore(haystack, at) / (double) Math.max(1, charsBefore(haystack, keep)), seed);
            }
            if (keep == 0) break;
            double perSentence = ids.length / (double) (keep + 1);
            keep = Math.max(0, keep - Math.max(1, (int) Math.ceil((ids.length - limit) / perSentence)));
        }
        throw new IllegalArgumentException("context " + contextTokens + " is too short for the niah task");
    }

    /** The sentence boundary nearest to the depth, measured in characters of the haystack (not in sentences, which vary in length). */
    private static int boundaryAt(List<String> haystack, double depth) {
        double target = depth * charsBefore(haystack, haystack.size());
        int best = 0, chars = 0;
        double bestDistance = Math.abs(target);
        for (int i = 1; i <= haystack.size(); i++) {
            chars += haystack.get(i - 1).length() + 1; // charsBefore(haystack, i), kept as a running sum
            if (Math.abs(chars - target) < bestDistance) {
                best = i;
                bestDistance = Math.abs(chars - target);
            }
        }
        return best;
    }

    private static int charsBefore(List<String> haystack, int index) {
        int n = 0;
        for (int i = 0; i < index; i++) n += haystack.get(i).length() + 1;
        return n;
    }

    private static String render(ChatTemplate template, List<String> haystack, int at, String needle, String question) {
        List<String> parts = new ArrayList<>(haystack);
        parts.add(at, needle);
        String user = String.join(" ", parts) + "\n\n" + question;
        return template.render(List.of(new ChatMessage("user", user)), true);
    }
}
