/**
 * Chat templates: {@link clusterkv.chat.ChatMessage}, {@link clusterkv.chat.ChatTemplate} and
 * {@link clusterkv.chat.ChatPrompt} (a conversation rendered and tokenized as the model expects), tool calls
 * ({@link clusterkv.chat.ToolCallFormat}, {@link clusterkv.chat.ToolMessages}). The Jinja machinery is internal.
 */
package clusterkv.chat;
