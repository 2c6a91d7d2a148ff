from escapelint.cli import main

main()
