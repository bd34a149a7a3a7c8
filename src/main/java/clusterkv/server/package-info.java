/**
 * The OpenAI-compatible server, to embed: {@code OpenAIServer.start(model, ServerConfig)}. Everything else is
 * internal.
 */
package clusterkv.server;
