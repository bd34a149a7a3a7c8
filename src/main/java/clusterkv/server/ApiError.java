package clusterkv.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A failed request, answered with its HTTP status and OpenAI's error body
 * {@code {"error": {"message", "type", "param", "code"}}}. Thrown anywhere in request handling;
 * carries no stack trace, since it is an answer, not a bug.
 */
final class ApiError extends RuntimeException {

    final int status;
    final String type;
    /** The request field at fault, or null. */
    final String param;
    final String code;

    ApiError(int status, String type, String message, String param, String code) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static ApiError badRequest(String param, String message) {
        return new ApiError(400, "invalid_request_error", message, param, null);
    }

    static ApiError contextExceeded(String param, int tokens, int context) {
        return new ApiError(400, "invalid_request_error", "the prompt is " + tokens + " tokens, which leaves no room to generate in the context of "
                + context + " tokens (at most " + (context - 1) + " prompt tokens)", param, "context_length_exceeded");
    }

    static ApiError promptTooLong(String param, long bytes, long maxBytes, int context) {
        return new ApiError(400, "invalid_request_error", "the prompt is " + bytes + " bytes, more than the context of " + context
                + " tokens can hold (at most " + maxBytes + " bytes)", param, "context_length_exceeded");
    }

    static ApiError stringTooLong(int maxChars, long maxPromptBytes, int context) {
        return new ApiError(400, "invalid_request_error", "a string in the request body is longer than " + maxChars
                + " characters, more than a prompt in the context of " + context + " tokens can hold (at most " + maxPromptBytes + " bytes)",
                null, "context_length_exceeded");
    }

    static ApiError timeout(String what) {
        return new ApiError(408, "invalid_request_error", "the " + what + " did not arrive in time", null, "request_timeout");
    }

    static ApiError unauthorized() {
        return new ApiError(401, "invalid_request_error", "missing or incorrect API key: send the header 'Authorization: Bearer KEY'", null, "invalid_api_key");
    }

    static ApiError notFound(String path) {
        return new ApiError(404, "invalid_request_error", "no such endpoint: " + path, null, "not_found");
    }

    static ApiError methodNotAllowed(String method, String path) {
        return new ApiError(405, "invalid_request_error", method + " is not allowed on " + path, null, "method_not_allowed");
    }

    static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error", "the request body exceeds " + limit + " bytes", null, "request_too_large");
    }

    static ApiError busy() {
        return new ApiError(429, "rate_limit_error", "the server is busy: every slot and queue place is taken, retry later", null, "rate_limit_exceeded");
    }

    static ApiError internal(String message) {
        return new ApiError(500, "server_error", message, null, null);
    }

    static ApiError unavailable(String message) {
        return new ApiError(503, "server_error", message, null, "unavailable");
    }

    ObjectNode toJson(ObjectMapper json) {
        ObjectNode body = json.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", getMessage());
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return body;
    }
}
