package clusterkv.cli;

import clusterkv.generate.GenerationOptions;
import clusterkv.generate.SamplingParams;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** Generation options shared by generate and chat. Defaults are llama.cpp's. */
final class SamplingOptions implements Validated {

    @Option(names = {"-n", "--n-predict"}, defaultValue = "256", paramLabel = "N", description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    int nPredict;

    @Option(names = {"--temperature", "--temp"}, defaultValue = "0.8", description = "0 means greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "0 disables (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "1 disables (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", defaultValue = "0.05", description = "0 disables (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--repeat-penalty", defaultValue = "1.0", description = "1 disables (default: ${DEFAULT-VALUE}).")
    float repeatPenalty;

    @Option(names = "--seed", defaultValue = "-1", description = "Random seed; -1 picks one (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", paramLabel = "STRING", description = "Stop when this string is generated (repeatable).")
    List<String> stops = new ArrayList<>();

    @Override
    public void validate() {
        Validated.check(nPredict >= 0, "--n-predict", ">= 0", nPredict);
        Validated.check(temperature >= 0 && Float.isFinite(temperature), "--temperature", "a finite number >= 0 (0: greedy)", temperature);
        Validated.check(topK >= 0, "--top-k", ">= 0 (0: off)", topK);
        Validated.check(topP > 0 && topP <= 1, "--top-p", "in (0, 1] (1: off)", topP);
        Validated.check(minP >= 0 && minP <= 1, "--min-p", "in [0, 1] (0: off)", minP);
        Validated.check(repeatPenalty > 0 && Float.isFinite(repeatPenalty), "--repeat-penalty", "a finite number > 0 (1: off)", repeatPenalty);
    }

    GenerationOptions toOptions() {
        SamplingParams p = new SamplingParams(temperature, topK, topP, minP, repeatPenalty, 64, seed);
        return new GenerationOptions(nPredict, p, stops);
    }
}
