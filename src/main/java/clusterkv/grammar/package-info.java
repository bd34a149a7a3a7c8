/**
 * The API of structured output: {@link clusterkv.grammar.JsonGrammar} (a JSON schema, any object, or a tool call) as an
 * {@link clusterkv.generate.OutputConstraint}; {@link clusterkv.grammar.JsonSchemaException} names what a schema uses
 * outside the supported subset. Everything else is package-private.
 */
package clusterkv.grammar;
