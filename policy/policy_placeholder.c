/* Placeholder until the module lands. */
typedef int policy_placeholder_t;
