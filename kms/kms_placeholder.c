/* Placeholder until the module lands. */
typedef int kms_placeholder_t;
