"""What the helper knows of the project once loaded: its config, script directory and the disposable database."""


class Project:
    def __init__(self):
        self.config = None
        self.script = None
        self.revision_paths = {}  # absolute file path -> revision id
        self.root = None
        self.url = None
        self.database = None  # the disposable database's host, port and name, once `database` ran


PROJECT = Project()
