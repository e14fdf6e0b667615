"""Everything that writes payment data. Split by subject; import from the submodules."""
