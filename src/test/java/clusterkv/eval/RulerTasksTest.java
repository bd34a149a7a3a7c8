package clusterkv.eval;

import clusterkv.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The variables and commonwords prompts, read back as text and solved here independently: following the
 * assignments from the asked variable, and counting the list's words, give the answers the generators claim.
 */
class RulerTasksTest {

    @Test
    void followingTheAssignmentsBackGivesTheAnswer() throws Exception {
        Tokenizer tok = EvalFixtures.tokenizer();
        String corpus = EvalFixtures.corpus(400_000);
        for (int context : new int[]{512, 2048}) {
            for (long seed = 0; seed < 10; seed++) {
                RetrievalCase c = VariableTrackingTask.generate(tok, corpus, context, seed);
                assertTrue(c.tokens().length <= context - 8, "room to answer");
                String text = tok.decode(c.tokens());
                Map<String, String> assigned = new HashMap<>();
                Matcher m = Pattern.compile("VAR ([A-Z]{2}) = (VAR [A-Z]{2}|\\d{5})\\.").matcher(text);
                int assignments = 0;
                while (m.find()) {
                    assertTrue(assigned.put(m.group(1), m.group(2)) == null, "each variable is assigned once");
                    assignments++;
                }
                assertEquals(2 * (VariableTrackingTask.HOPS + 1), assignments, text);
                Matcher q = Pattern.compile("The value of VAR ([A-Z]{2}) is$").matcher(text);
                assertTrue(q.find(), "the prompt ends with the question");
                String v = "VAR " + q.group(1);
                int hops = 0;
                while (v.startsWith("VAR ")) {
                    v = assigned.get(v.substring(4));
                    hops++;
                }
                assertEquals(VariableTrackingTask.HOPS + 1, hops, "the whole chain is followed");
                assertEquals(v, c.answer());
                assertEquals(1.0, Scoring.exactDigits(" " + v + ".", c.answer()));
            }
        }
    }

    @Test
    void countingTheListGivesTheCommonWords() throws Exception {
        Tokenizer tok = EvalFixtures.tokenizer();
        String corpus = EvalFixtures.corpus(400_000);
        for (int context : new int[]{1024, 4096}) {
            for (long seed = 0; seed < 5; seed++) {
                RetrievalCase c = CommonWordsTask.generate(tok, corpus, context, seed);
                assertTrue(c.tokens().length <= context - 16, "room to answer");
                String text = tok.decode(c.tokens());
                Map<String, Integer> counts = new HashMap<>();
                Matcher m = Pattern.compile(" \\d+\\. ([a-z]+)").matcher(text);
                while (m.find()) counts.merge(m.group(1), 1, Integer::sum);
                List<Map.Entry<String, Integer>> byCount = new ArrayList<>(counts.entrySet());
                byCount.sort(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder()));
                Set<String> top = new HashSet<>();
                for (int i = 0; i < CommonWordsTask.COMMON; i++) top.add(byCount.get(i).getKey());
                assertTrue(byCount.get(CommonWordsTask.COMMON - 1).getValue() > byCount.get(CommonWordsTask.COMMON).getValue(), "the common words stand apart");
                assertEquals(top, Set.of(c.answer().split(", ")));
            }
        }
    }

    @Test
    void wordRecallIsTheShareOfTheWordsNamed() {
        assertEquals(1.0, Scoring.wordRecall(" Apple, pear and plum.", "apple, pear, plum"));
        assertEquals(2 / 3.0, Scoring.wordRecall(" apple pear pears", "apple, pear, plum"), 1e-12);
        assertEquals(0.0, Scoring.wordRecall(" pineapple", "apple"));
    }
}
