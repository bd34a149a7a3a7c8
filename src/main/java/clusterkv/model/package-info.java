/**
 * The transformer, its weights and configuration, synthetic models.
 * <p>Internal: public for the engine's other packages, with no compatibility promise between versions.
 */
package clusterkv.model;
