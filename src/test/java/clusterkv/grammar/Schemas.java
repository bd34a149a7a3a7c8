package clusterkv.grammar;

import java.util.List;

/** Ten schemas that cover the supported subset, shared by the grammar tests. */
final class Schemas {

    private Schemas() {}

    static final List<String> TEN = List.of(
            """
            {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "minimum": 18, "maximum": 120}}, "required": ["name", "age"]}""",
            """
            {"type": "string", "enum": ["red", "green", "blue", "greenish"]}""",
            """
            {"type": "array", "items": {"type": "integer", "exclusiveMinimum": -50, "maximum": 999}, "minItems": 1, "maxItems": 5}""",
            """
            {"type": "object", "properties": {"person": {"type": "object", "properties": {"first": {"type": "string", "pattern": "^[A-Z][a-z]{1,7}( [A-Z]\\\\.)?$"},
             "last": {"type": "string", "maxLength": 8}}, "required": ["first"], "additionalProperties": false}, "ok": {"type": "boolean"}},
             "required": ["person", "ok"], "additionalProperties": false}""",
            """
            {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "string", "maxLength": 5}, "c": {"type": "null"}}, "required": ["c"]}""",
            """
            {"type": "object", "properties": {"note": {"anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}]},
             "tags": {"type": "array", "items": {"enum": ["x", "y", 3, true]}}}, "required": ["note", "tags"]}""",
            """
            {"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
             "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}}, "required": ["v"]}}, "$ref": "#/$defs/node"}""",
            """
            {"type": "object", "properties": {"kind": {"const": "point"}, "xy": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}},
             "required": ["kind", "xy"]}""",
            """
            {"type": "string", "minLength": 3, "maxLength": 6}""",
            """
            {"type": "object"}""");
}
