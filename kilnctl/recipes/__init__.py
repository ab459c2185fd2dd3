"""Recipes: firing profiles, plating recipes and jobs; units, Faraday's law, loading,
material and device rules, JSON Schema export."""
