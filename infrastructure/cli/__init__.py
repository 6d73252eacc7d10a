"""The ``convtrack`` command line: one function per subcommand."""
