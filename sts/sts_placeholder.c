/* Placeholder until the module lands. */
typedef int sts_placeholder_t;
