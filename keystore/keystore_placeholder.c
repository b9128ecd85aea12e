/* Placeholder until the module lands. */
typedef int keystore_placeholder_t;
