from ossbox.cli.main import main

main()
