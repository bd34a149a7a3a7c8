/**
 * The picocli commands.
 * <p>Internal: public for the engine's other packages, with no compatibility promise between versions.
 */
package clusterkv.cli;
