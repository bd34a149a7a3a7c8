/**
 * SentencePiece and byte-level BPE tokenizers (a model gives its own: {@code LanguageModel.tokenizer()}).
 * <p>Internal: public for the engine's other packages, with no compatibility promise between versions.
 */
package clusterkv.tokenizer;
