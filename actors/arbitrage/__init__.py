"""The strategy: its configuration, context, arithmetic, pure state machine and actor shell."""
