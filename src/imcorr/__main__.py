from imcorr.cli import main

main()
