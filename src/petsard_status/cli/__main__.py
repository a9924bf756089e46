from petsard_status.cli import main

main()
