package clusterkv.chat;

import clusterkv.gguf.GGUFMetadata;
import clusterkv.tokenizer.Tokenizer;

/** A model's own chat template, and rendered conversations as the token ids the model expects. */
public final class ChatPrompt {

    private ChatPrompt() {}

    /** The template in the model's metadata, or a fallback format when it has none or it cannot be rendered. */
    public static ChatTemplate templateOf(GGUFMetadata md, Tokenizer tok) {
        return templateOf(md.getString("tokenizer.chat_template", null), tok);
    }

    /** The given template (null: the built-in format), with the tokenizer's BOS and EOS texts. */
    public static ChatTemplate templateOf(String template, Tokenizer tok) {
        return ChatTemplate.of(template, tok.bos() >= 0 ? tok.tokenText(tok.bos()) : "", tok.eos() >= 0 ? tok.tokenText(tok.eos()) : "");
    }

    /** The rendered conversation as tokens: special-token texts recognised, BOS added once if the model wants it. */
    public static int[] encode(Tokenizer tok, String rendered) {
        int[] ids = tok.encode(rendered, false, true);
        if (tok.addBos() && tok.bos() >= 0 && (ids.length == 0 || ids[0] != tok.bos())) {
            int[] withBos = new int[ids.length + 1];
            withBos[0] = tok.bos();
            System.arraycopy(ids, 0, withBos, 1, ids.length);
            return withBos;
        }
        return ids;
    }
}
