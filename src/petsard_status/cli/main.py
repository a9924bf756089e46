import click


@click.group()
def main() -> None:
    """petsard-status: inspect and run pipelines with a persistent status."""
