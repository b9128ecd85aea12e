/* Placeholder until the module lands. */
typedef int sigv4_placeholder_t;
