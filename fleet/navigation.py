from backend.core.nav import NavItem


def items(user) -> list[NavItem]:
    """Entries this app adds to the header and to the role's home page."""
    return []
