"""Pure domain rules: no telegram, sqlalchemy or aiohttp imports (a test enforces it)."""
