"""The spaCy pipeline that finds people, organizations and places in documents."""
