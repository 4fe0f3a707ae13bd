"""Registry schema revisions (a package only so that they ship as package data)."""
