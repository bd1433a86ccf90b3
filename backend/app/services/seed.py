"""The club's eight locations, loaded into a fresh site by `flask --app wsgi db seed`."""

from app.utils.db import execute_many

# (slug, name, capacity, mood_category, primary, secondary, accent, description)
LOCATIONS = [
    ("the-dreamers-cave", "The Dreamer's Cave", 500, "dreamy", "#2B1B4A", "#6B3FA0", "#F2C14E",
     "The main hall under the rock: the club's home stage."),
    ("dreamvision", "DreamVision", 300, "visionary", "#0B2545", "#13315C", "#00E5FF",
     "Audiovisual sets where the screens play along."),
    ("evanescence", "Evanescence", 200, "ethereal", "#1C1C2E", "#4A4E69", "#C9ADA7",
     "Ambient and ethereal sounds in soft light."),
    ("the-lounge", "The Lounge", 150, "chill", "#3D2C2E", "#8C5E58", "#E6B89C",
     "Deep sofas, low tempos and long conversations."),
    ("live-magic", "Live Magic", 400, "energetic", "#5C0A1E", "#B3132F", "#FFD23F",
     "Bands on stage, played live."),
    ("noahs-ark", "Noah's Ark", 250, "eclectic", "#1B3A2F", "#2E6B4F", "#F4E285",
     "Every genre, two by two."),
    ("jazz-club", "Jazz Club", 120, "smooth", "#1A1A1A", "#3C2F2F", "#D4A373",
     "Standards, sessions and late-night improvisation."),
    ("arquipelago", "Arquipélago", 180, "tropical", "#023E8A", "#0077B6", "#F77F00",
     "Island rhythms and Lusophone music from across the sea."),
]

# Insert-if-missing: a location already there (matched by slug) is left exactly as it is, so
# an admin's later edits survive every re-run.
INSERT_LOCATION = """
INSERT INTO locations (slug, name, capacity, mood_category, theme_primary, theme_secondary,
                       theme_accent, description, sort_order)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON DUPLICATE KEY UPDATE id = id"""


def seed_locations() -> int:
    """Add the locations that are missing; return how many were added."""
    rows = [(*location, position * 10)
            for position, location in enumerate(LOCATIONS, start=1)]
    return execute_many(INSERT_LOCATION, rows)
