"""Everything that writes fleet data. Split by area; import from the submodules."""
