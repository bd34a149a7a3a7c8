package clusterkv.server;

import clusterkv.chat.ToolCallFormat;
import clusterkv.generate.GenerationOptions;
import clusterkv.generate.SessionOptions;

/**
 * A validated completion request, its prompt already tokenized.
 *
 * @param chat         a chat completion (else a text completion)
 * @param prompt       the prompt's token ids (the chat rendered with the model's template)
 * @param generation   token limit, sampling and stop strings
 * @param session      the KV cache the request runs on: the server's, with its kv_policy and kv_budget applied
 * @param stream       answer with server-sent events
 * @param includeUsage streaming: send a last chunk with the usage
 * @param slot         llama-server's id_slot: the slot whose session the request continues and leaves its session in
 *                     (for POST /slots/{id}?action=save), or -1 for none
 * @param toolCalls    the format the reply's tool calls are read in; null when the request offers no tools
 */
record CompletionRequest(boolean chat, int[] prompt, GenerationOptions generation, SessionOptions session,
                         boolean stream, boolean includeUsage, int slot, ToolCallFormat toolCalls) {
}
