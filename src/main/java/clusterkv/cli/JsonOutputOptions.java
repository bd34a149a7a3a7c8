package clusterkv.cli;

import clusterkv.generate.OutputConstraint;
import clusterkv.grammar.JsonGrammar;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Structured output, as llama.cpp's -j/--json-schema and --json-schema-file: the output is one JSON value of the schema. */
final class JsonOutputOptions implements Validated {

    @Option(names = {"-j", "--json-schema"}, paramLabel = "SCHEMA",
            description = "Constrain the output to one JSON value valid under this JSON schema (inline JSON; {} for any value).")
    String schema;

    @Option(names = "--json-schema-file", paramLabel = "FILE", description = "As --json-schema, with the schema read from FILE.")
    Path schemaFile;

    /** Compiled once by validate(): a bad schema is a usage error before the model loads. */
    private JsonGrammar grammar;

    @Override
    public void validate() {
        if (schema != null && schemaFile != null) throw new IllegalArgumentException("--json-schema and --json-schema-file exclude each other");
        if (schema != null) grammar = Validated.parse("--json-schema", () -> JsonGrammar.fromSchema(schema));
        if (schemaFile != null) grammar = Validated.parse("--json-schema-file", () -> JsonGrammar.fromSchema(read(schemaFile)));
    }

    /** The constraint, or null for free text. */
    OutputConstraint constraint() {
        return grammar;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
