package clusterkv.grammar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles a JSON schema into {@link Shape}s: the subset llama.cpp's json-schema-to-grammar supports, minus what
 * would make the match ambiguous. Supported: {@code type} (one or several), {@code properties}, {@code required},
 * {@code additionalProperties} (false; or, without properties, any keys with values of a schema), {@code enum},
 * {@code const}, {@code items}, {@code minItems}/{@code maxItems}, {@code minLength}/{@code maxLength},
 * {@code anyOf}/{@code oneOf} whose alternatives start with different characters (a string or null, say),
 * {@code allOf} of one schema, {@code $ref} to {@code #}, {@code #/$defs/...} or {@code #/definitions/...}; annotations
 * and {@code format} are ignored. Declared properties are written in their declared order, as llama.cpp writes them.
 * Anything else is refused with a {@link JsonSchemaException} naming the keyword and where it is, since ignoring
 * it would produce output the schema rejects.
 */
final class JsonSchemaCompiler {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Keywords that describe and do not constrain. */
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema", "$id", "$comment",
            "format", "readOnly", "writeOnly", "deprecated", "$defs", "definitions", "strict");
    private static final Set<String> CONSTRAINTS = Set.of("type", "properties", "required", "additionalProperties", "enum", "const",
            "items", "minItems", "maxItems", "minLength", "maxLength", "anyOf", "oneOf", "allOf", "$ref", "nullable",
            "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern");

    /**
     * Bounds on what one schema may ask, since masks are computed on the server's one compute thread: a key or
     * literal byte scans the candidates still matching, so 100,000 optional properties would stall every request.
     */
    static final int MAX_PROPERTIES = 1024, MAX_LITERALS = 4096, MAX_SHAPES = 65536;

    private final JsonNode root;
    private final Map<String, Shape.Ref> refs = new HashMap<>();
    private final List<Shape> shapes = new ArrayList<>();
    /** Alternatives to check, once compiled, for two that start alike; with where they are, for the message. */
    private final Map<Shape.OneOf, String> pendingChoices = new IdentityHashMap<>();

    private JsonSchemaCompiler(JsonNode root) {
        this.root = root;
    }

    static JsonGrammar compile(JsonNode schema) {
        return new JsonGrammar(shapeOf(schema));
    }

    /** The schema's shape, its fewest bytes resolved. */
    static Shape shapeOf(JsonNode schema) {
        JsonSchemaCompiler c = new JsonSchemaCompiler(schema);
        Shape shape = c.shape(schema, "");
        c.resolveMinBytes();
        c.checkReferences();
        if (shape.minBytes >= Shape.UNBOUNDED) throw new JsonSchemaException("the schema admits no finite value (a required property refers back to its object)");
        return shape;
    }

    /** A JSON string's text, quotes and escapes included. */
    static String quoted(String s) {
        return new String(text(JSON.getNodeFactory().textNode(s)), StandardCharsets.UTF_8);
    }

    private Shape shape(JsonNode s, String at) {
        if (s.isBoolean()) {
            if (s.booleanValue()) return Shape.OneOf.ANY_JSON;
            throw new JsonSchemaException("the schema at " + where(at) + " is false: no value is valid");
        }
        if (!s.isObject()) throw new JsonSchemaException("the schema at " + where(at) + " must be an object or a boolean");
        for (Iterator<String> names = s.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!ANNOTATIONS.contains(name) && !CONSTRAINTS.contains(name)) {
                throw new JsonSchemaException("unsupported JSON schema keyword '" + name + "' at " + where(at));
            }
        }
        Shape shape = withoutNullable(s, at);
        if (s.path("nullable").asBoolean(false)) shape = oneOf(List.of(shape, add(Shape.Literals.of("null"))), at);
        return add(shape);
    }

    private Shape withoutNullable(JsonNode s, String at) {
        if (s.has("$ref")) return ref(s.get("$ref"), at);
        if (s.has("const")) return literals(List.of(s.get("const")));
        if (s.has("enum")) {
            if (!s.get("enum").isArray() || s.get("enum").isEmpty()) throw new JsonSchemaException("enum at " + where(at) + " must be a non-empty array");
            List<JsonNode> values = new ArrayList<>();
            s.get("enum").forEach(values::add);
            return literals(values);
        }
        for (String key : List.of("anyOf", "oneOf")) {
            if (s.has(key)) return oneOf(alternatives(s.get(key), at + "/" + key), at);
        }
        if (s.has("allOf")) {
            JsonNode all = s.get("allOf");
            if (!all.isArray() || all.size() != 1) throw new JsonSchemaException("unsupported JSON schema keyword 'allOf' with " + all.size() + " schemas at " + where(at) + " (one is supported)");
            return shape(all.get(0), at + "/allOf/0");
        }
        JsonNode type = s.get("type");
        if (type == null) return untyped(s, at);
        if (type.isTextual()) return typed(type.textValue(), s, at);
        if (!type.isArray() || type.isEmpty()) throw new JsonSchemaException("type at " + where(at) + " must be a string or a non-empty array");
        List<String> types = new ArrayList<>();
        type.forEach(t -> types.add(t.asText()));
        if (types.contains("number")) types.remove("integer"); // a number may be an integer: one alternative, told apart by nothing
        List<Shape> shapes = new ArrayList<>();
        for (String t : types) shapes.add(typed(t, s, at));
        return shapes.size() == 1 ? shapes.get(0) : oneOf(shapes, at);
    }

    /** No type: inferred from the keywords present, as llama.cpp does; none at all is any value. */
    private Shape untyped(JsonNode s, String at) {
        if (s.has("properties") || s.has("additionalProperties") || s.has("required")) return typed("object", s, at);
        if (s.has("items") || s.has("minItems") || s.has("maxItems")) return typed("array", s, at);
        if (s.has("minLength") || s.has("maxLength") || s.has("pattern")) return typed("string", s, at);
        return Shape.OneOf.ANY_JSON;
    }

    private Shape typed(String type, JsonNode s, String at) {
        return add(switch (type) {
            case "string" -> s.has("pattern") ? pattern(s, at) : new Shape.Text(count(s, "minLength", 0, at), count(s, "maxLength", Shape.UNBOUNDED, at));
            case "number" -> {
                for (String bound : List.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")) {
                    if (s.has(bound)) throw new JsonSchemaException("unsupported JSON schema keyword '" + bound + "' on a number at " + where(at) + " (supported on integers)");
                }
                yield new Shape.Number(false, IntegerRange.ALL);
            }
            case "integer" -> new Shape.Number(true, range(s, at));
            case "boolean" -> Shape.Literals.of("true", "false");
            case "null" -> Shape.Literals.of("null");
            case "object" -> object(s, at);
            case "array" -> array(s, at);
            default -> throw new JsonSchemaException("unknown type '" + type + "' at " + where(at));
        });
    }

    private Shape object(JsonNode s, String at) {
        JsonNode properties = s.get("properties");
        JsonNode additional = s.get("additionalProperties");
        if (properties == null || properties.isEmpty()) {
            if (s.has("required") && !s.get("required").isEmpty()) throw new JsonSchemaException("required at " + where(at) + " names properties that properties does not declare");
            if (additional == null || additional.isBoolean() && additional.booleanValue()) return add(new Shape.Dict(Shape.OneOf.ANY_JSON));
            if (additional.isBoolean()) return add(new Shape.Members(new byte[0][], new Shape[0], new boolean[0])); // {} only
            return add(new Shape.Dict(shape(additional, at + "/additionalProperties")));
        }
        if (!properties.isObject()) throw new JsonSchemaException("properties at " + where(at) + " must be an object");
        if (additional != null && !additional.isBoolean()) {
            throw new JsonSchemaException("unsupported JSON schema keyword 'additionalProperties' with a schema beside properties at " + where(at));
        }
        Set<String> required = new java.util.HashSet<>();
        JsonNode req = s.get("required");
        if (req != null) {
            if (!req.isArray()) throw new JsonSchemaException("required at " + where(at) + " must be an array of names");
            req.forEach(r -> required.add(r.asText()));
        }
        int n = properties.size();
        if (n > MAX_PROPERTIES) throw new JsonSchemaException("an object at " + where(at) + " declares " + n + " properties; at most " + MAX_PROPERTIES + " are supported");
        byte[][] keys = new byte[n][];
        Shape[] values = new Shape[n];
        boolean[] isRequired = new boolean[n];
        int i = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); i++) {
            Map.Entry<String, JsonNode> p = it.next();
            keys[i] = text(JSON.getNodeFactory().textNode(p.getKey()));
            values[i] = shape(p.getValue(), at + "/properties/" + p.getKey());
            isRequired[i] = required.remove(p.getKey());
        }
        if (!required.isEmpty()) throw new JsonSchemaException("required at " + where(at) + " names " + required + ", which properties does not declare");
        return add(new Shape.Members(keys, values, isRequired));
    }

    private static Shape pattern(JsonNode s, String at) {
        if (s.has("minLength") || s.has("maxLength")) {
            throw new JsonSchemaException("unsupported minLength/maxLength beside pattern at " + where(at) + " (put the length in the pattern)");
        }
        if (!s.get("pattern").isTextual()) throw new JsonSchemaException("pattern at " + where(at) + " must be a string");
        Regex regex = new Regex(s.get("pattern").textValue());
        if (regex.fewestToAccept(regex.initial()) >= Shape.UNBOUNDED) {
            throw new JsonSchemaException("pattern at " + where(at) + " matches no string of printable ASCII without quotes or backslashes");
        }
        return new Shape.Pattern(regex);
    }

    /** minimum, maximum and their exclusive forms (numbers, as in draft 2019 and later), within what is written. */
    private static IntegerRange range(JsonNode s, String at) {
        double lo = Double.NEGATIVE_INFINITY, hi = Double.POSITIVE_INFINITY;
        for (String bound : List.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")) {
            JsonNode v = s.get(bound);
            if (v == null) continue;
            if (!v.isNumber()) throw new JsonSchemaException(bound + " at " + where(at) + " must be a number");
            double x = v.doubleValue();
            switch (bound) {
                case "minimum" -> lo = Math.max(lo, Math.ceil(x));
                case "maximum" -> hi = Math.min(hi, Math.floor(x));
                case "exclusiveMinimum" -> lo = Math.max(lo, Math.floor(x) + 1);
                default -> hi = Math.min(hi, Math.ceil(x) - 1);
            }
        }
        IntegerRange all = IntegerRange.ALL;
        long low = (long) Math.max(lo, all.lo()), high = (long) Math.min(hi, all.hi());
        if (low > high) throw new JsonSchemaException("no integer of at most " + IntegerRange.MAX_DIGITS + " digits lies between the bounds at " + where(at));
        return new IntegerRange(low, high);
    }

    private Shape array(JsonNode s, String at) {
        Shape items = s.has("items") ? shape(s.get("items"), at + "/items") : Shape.OneOf.ANY_JSON;
        int min = count(s, "minItems", 0, at), max = count(s, "maxItems", Shape.UNBOUNDED, at);
        if (min > max) throw new JsonSchemaException("minItems > maxItems at " + where(at));
        return add(new Shape.Array(items, min, max));
    }

    private Shape literals(List<JsonNode> values) {
        if (values.size() > MAX_LITERALS) throw new JsonSchemaException("an enum of " + values.size() + " values; at most " + MAX_LITERALS + " are supported");
        byte[][] texts = new byte[values.size()][];
        for (int i = 0; i < texts.length; i++) texts[i] = text(values.get(i));
        return add(new Shape.Literals(texts));
    }

    private List<Shape> alternatives(JsonNode list, String at) {
        if (!list.isArray() || list.isEmpty()) throw new JsonSchemaException(where(at) + " must be a non-empty array of schemas");
        List<Shape> shapes = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) shapes.add(shape(list.get(i), at + "/" + i));
        return shapes;
    }

    /** Alternatives are chosen by their first character, so no two may start alike. */
    private Shape oneOf(List<Shape> alternatives, String at) {
        if (alternatives.size() == 1) return alternatives.get(0);
        Shape.OneOf oneOf = add(new Shape.OneOf(List.copyOf(alternatives)));
        pendingChoices.put(oneOf, at);
        return oneOf;
    }

    private Shape ref(JsonNode ref, String at) {
        if (!ref.isTextual()) throw new JsonSchemaException("$ref at " + where(at) + " must be a string");
        String pointer = ref.textValue();
        if (!pointer.equals("#") && !pointer.startsWith("#/$defs/") && !pointer.startsWith("#/definitions/")) {
            throw new JsonSchemaException("unsupported $ref '" + pointer + "' at " + where(at) + " (references within the schema, #/$defs/... or #/definitions/..., are supported)");
        }
        Shape.Ref known = refs.get(pointer);
        if (known != null) return known;
        Shape.Ref r = add(new Shape.Ref());
        refs.put(pointer, r);
        JsonNode target = root.at(pointer.substring(1));
        if (target.isMissingNode()) throw new JsonSchemaException("$ref '" + pointer + "' at " + where(at) + " points to nothing");
        r.target = shape(target, pointer.substring(1));
        return r;
    }

    /** Refuses a shape that reaches itself through references and alternatives before its first byte (a: anyOf [a, ...]). */
    private static void leftRecursion(Shape s, Set<Shape> path, Set<Shape> done) {
        if (done.contains(s)) return;
        if (!path.add(s)) throw new JsonSchemaException("a $ref that refers to itself without a value in between");
        List<Shape> first = switch (s) {
            case Shape.Ref r -> List.of(r.target);
            case Shape.OneOf o -> o.alternatives;
            case Shape.Then t -> List.of(t.first);
            default -> List.of(); // every other shape writes a byte of its own first
        };
        for (Shape f : first) leftRecursion(f, path, done);
        path.remove(s);
        done.add(s);
    }

    /** The fewest bytes of each shape, to a fixed point: references make the shapes a graph. */
    private void resolveMinBytes() {
        for (boolean changed = true; changed; ) {
            changed = false;
            for (Shape s : shapes) {
                int m = s.computeMinBytes();
                if (m != s.minBytes) {
                    s.minBytes = m;
                    changed = true;
                }
            }
        }
    }

    /**
     * A reference that reaches itself before any byte (a = b, b = a) would make matching loop; and alternatives
     * that can start with the same byte would make it ambiguous.
     */
    private void checkReferences() {
        Set<Shape> done = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (Shape s : shapes) leftRecursion(s, java.util.Collections.newSetFromMap(new IdentityHashMap<>()), done);
        for (Map.Entry<Shape.OneOf, String> e : pendingChoices.entrySet()) {
            List<Shape> alternatives = e.getKey().alternatives;
            for (int b = 0; b < 256; b++) {
                int starting = 0;
                for (Shape s : alternatives) if (s.begin(b, MatchState.DONE) != null) starting++;
                if (starting > 1) {
                    throw new JsonSchemaException("unsupported anyOf/oneOf at " + where(e.getValue()) + ": two alternatives may start with '"
                            + (char) b + "' (alternatives of different types, such as a string or null, are supported)");
                }
            }
        }
    }

    private <S extends Shape> S add(S shape) {
        if (shapes.size() >= MAX_SHAPES) throw new JsonSchemaException("the schema is too large (over " + MAX_SHAPES + " parts)");
        shapes.add(shape);
        return shape;
    }

    private static int count(JsonNode s, String name, int absent, String at) {
        JsonNode v = s.get(name);
        if (v == null) return absent;
        if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() >= Shape.UNBOUNDED) {
            throw new JsonSchemaException(name + " at " + where(at) + " must be a non-negative integer below " + Shape.UNBOUNDED);
        }
        return v.intValue();
    }

    private static byte[] text(JsonNode value) {
        try {
            return JSON.writeValueAsString(value).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new JsonSchemaException("cannot write " + value + " as JSON");
        }
    }

    private static String where(String at) {
        return at.isEmpty() ? "the top level" : at;
    }
}
