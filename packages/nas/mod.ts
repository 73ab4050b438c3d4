// Public API of @fairnas/nas.
