"""The bundled sandbox marketplace: a generated catalog with known suspects, served over HTTP."""
