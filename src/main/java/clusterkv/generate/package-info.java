/**
 * The API: load a model ({@link clusterkv.generate.LanguageModel}), open a {@link clusterkv.generate.Session} with
 * {@link clusterkv.generate.SessionOptions} (context, KV policy and type), generate with
 * {@link clusterkv.generate.GenerationOptions} and {@link clusterkv.generate.SamplingParams} (optionally held to an
 * {@link clusterkv.generate.OutputConstraint}), read the {@link clusterkv.generate.GenerationResult}; step by step with
 * {@link clusterkv.generate.Generation}; save and reopen sessions ({@link clusterkv.generate.SessionFileException} when a
 * file cannot be used); {@link clusterkv.generate.Perplexity}. {@code BatchDecoder}, {@code Sampler}, {@code SessionFile}
 * and {@code SessionLock} are internal (public for the server and the commands).
 */
package clusterkv.generate;
