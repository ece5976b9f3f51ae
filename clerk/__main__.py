from clerk.cli import main

raise SystemExit(main())
