"""The bundled policy packs (one folder per locality), shipped inside the package."""
