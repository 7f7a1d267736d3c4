from haul.cli.main import main

main()
