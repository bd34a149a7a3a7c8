package clusterkv.chat;

/** A chat template could not be rendered (see {@link ChatTemplate#renderStrict}). */
public final class ChatTemplateException extends RuntimeException {

    private final boolean raisedByTemplate;

    ChatTemplateException(String message, boolean raisedByTemplate) {
        super(message);
        this.raisedByTemplate = raisedByTemplate;
    }

    /** True when the template itself called {@code raise_exception} (e.g. roles not alternating). */
    public boolean raisedByTemplate() {
        return raisedByTemplate;
    }
}
